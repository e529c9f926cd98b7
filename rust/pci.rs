// SPDX-License-Identifier: GPL-2.0

//! PCI helpers shared by the removers (the `remove` store, pciehp, the s390 removers): a counted
//! device reference, the device lock, and the first half of every removal, the release of the
//! drivers before the rescan/remove lock, in the order 7.3.4 releases them.

use crate::{
    bindings_extra,
    rescan_lock::RescanRemoveLock, //
};
use core::ptr::NonNull;
use kernel::{
    bindings,
    container_of,
    prelude::*,
    sync::{
        Mutex,
        MutexGuard, //
    }, //
};

/// A reference on a `struct pci_dev`, dropped with the value (`pci_dev_put()`).
///
/// # Invariants
///
/// `self.0` points to a live `struct pci_dev` on which this value owns one reference.
pub(crate) struct DevRef(NonNull<bindings::pci_dev>);

impl DevRef {
    /// Takes a new reference on `pdev`.
    ///
    /// # Safety
    ///
    /// `pdev` points to a live `struct pci_dev` for the duration of the call.
    pub(crate) unsafe fn get(pdev: NonNull<bindings::pci_dev>) -> Self {
        // SAFETY: `pdev` is live (safety requirements); the reference taken here is the one the
        // value owns (type invariant).
        unsafe { bindings::pci_dev_get(pdev.as_ptr()) };
        Self(pdev)
    }

    /// The device, live as long as the value.
    pub(crate) fn as_ptr(&self) -> *mut bindings::pci_dev {
        self.0.as_ptr()
    }
}

impl Drop for DevRef {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the value owns one reference, given back here; this may
        // free the device.
        unsafe { bindings::pci_dev_put(self.0.as_ptr()) };
    }
}

/// Appends every device on `bus`, in list order, each with a reference, to `out`.
///
/// # Safety
///
/// `bus` is live and the caller holds the rescan/remove lock, under which its device list
/// changes.
unsafe fn push_bus(out: &mut KVec<DevRef>, bus: *mut bindings::pci_bus) -> Result {
    // SAFETY: `bus` is live (safety requirements).
    let head = unsafe { &raw mut (*bus).devices };
    // SAFETY: The list is stable under the rescan/remove lock; its entries are the `bus_list`
    // members of live devices.
    let mut pos = unsafe { (*head).next };
    while pos != head {
        // SAFETY: `pos` is the `bus_list` member of a device on the list, hence live.
        let dev = unsafe { container_of!(pos, bindings::pci_dev, bus_list) };
        // SAFETY: As above; a list entry is never null.
        let held = unsafe { DevRef::get(NonNull::new_unchecked(dev)) };
        out.push(held, GFP_KERNEL)?;
        // SAFETY: As above.
        pos = unsafe { (*pos).next };
    }
    Ok(())
}

/// Every device below `bridge` (on its subordinate bus and, recursively, below the bridges
/// there), each held, breadth first: walked in reverse, a bridge comes after everything below
/// it and a bus's devices come in reverse list order (a PF's VFs before the PF), the order in
/// which 7.3.4's `pci_stop_bus_device()` releases their drivers. Empty for a device that is no
/// bridge.
///
/// # Safety
///
/// `bridge` is live and the caller holds the rescan/remove lock, under which bus device lists
/// and `subordinate` pointers change.
pub(crate) unsafe fn devices_below(bridge: *mut bindings::pci_dev) -> Result<KVec<DevRef>> {
    let mut out = KVec::new();
    // SAFETY: `bridge` is live (safety requirements).
    let bus = unsafe { (*bridge).subordinate };
    if bus.is_null() {
        return Ok(out);
    }
    // SAFETY: The subordinate bus of a live bridge is live under the lock.
    unsafe { push_bus(&mut out, bus)? };
    let mut i = 0;
    while i < out.len() {
        // SAFETY: `out[i]` is held; the lock is held (safety requirements).
        let bus = unsafe { (*out[i].as_ptr()).subordinate };
        if !bus.is_null() {
            // SAFETY: As above.
            unsafe { push_bus(&mut out, bus)? };
        }
        i += 1;
    }
    Ok(out)
}

/// Every registered VF of `pf`, each held, in the PCI core's device order (`pci_get_device()`
/// over all devices, keeping those whose `physfn` is `pf`). Walks the whole device list rather
/// than the VF routing IDs `pci_iov_remove_virtfn()` computes: on s390 the platform gives a VF
/// its own slot on the zPCI bus, which the routing IDs do not predict.
///
/// # Safety
///
/// `pf` is a live PF held by the caller.
pub(crate) unsafe fn virtfns(pf: *mut bindings::pci_dev) -> Result<KVec<DevRef>> {
    let mut out = KVec::new();
    let mut dev: *mut bindings::pci_dev = core::ptr::null_mut();
    loop {
        // SAFETY: `dev` is null or the device the previous call returned, with the reference
        // that call took; this call drops it and takes one on the device it returns.
        // `u32::MAX` is `PCI_ANY_ID`.
        dev = unsafe { bindings::pci_get_device(u32::MAX, u32::MAX, dev) };
        let Some(held) = NonNull::new(dev) else {
            return Ok(out);
        };
        // SAFETY: `dev` is live (held by the walk's reference); a VF's `physfn` is set for its
        // lifetime (the union's other member, `sriov`, belongs to PFs).
        let ours = unsafe { (*dev).is_virtfn() != 0 && (*dev).__bindgen_anon_1.physfn == pf };
        if ours {
            // SAFETY: `dev` is live (above).
            if let Err(e) = out.push(unsafe { DevRef::get(held) }, GFP_KERNEL) {
                // SAFETY: Drops the walk's reference on `dev`; the walk ends here.
                unsafe { bindings::pci_dev_put(dev) };
                return Err(e.into());
            }
        }
    }
}

/// Whether `pdev` is still added to the PCI core (`pci_dev_is_added()`: bit `PCI_DEV_ADDED`).
///
/// # Safety
///
/// `pdev` is live.
pub(crate) unsafe fn is_added(pdev: *mut bindings::pci_dev) -> bool {
    // SAFETY: `pdev` is live; `priv_flags` is a bitmap the core changes with atomic bit
    // operations, read once here as `test_bit()` does.
    let flags = unsafe { core::ptr::read_volatile(&raw const (*pdev).priv_flags) };
    flags & (1 << bindings_extra::PCI_DEV_ADDED) != 0
}

/// The part of a removal done before the rescan/remove lock, in every remover: for a bridge,
/// first everything below it ([`release_below`]); then the device marked dead and its driver
/// released ([`kill_and_release_driver`]), then the VFs a PF driver left enabled removed with
/// their PF ([`crate::sriov::disable_left_enabled`], F4).
///
/// # Safety
///
/// `pdev` is live and held by the caller; process context, no device lock held.
pub(crate) unsafe fn release_for_removal(pdev: *mut bindings::pci_dev) {
    // SAFETY: By the safety requirements; the driver is gone when the VFs are removed.
    unsafe {
        release_below(pdev);
        release_one(pdev);
    }
}

/// Releases one device for its removal: marked dead, its driver released, the VFs its driver
/// left enabled removed.
///
/// # Safety
///
/// As [`release_for_removal`].
unsafe fn release_one(pdev: *mut bindings::pci_dev) {
    // SAFETY: By the safety requirements; the driver is gone when the VFs are removed.
    unsafe {
        kill_and_release_driver(pdev);
        crate::sriov::disable_left_enabled(pdev);
    }
}

/// Releases every device below `bridge` (nothing if it is no bridge) in 7.3.4's removal order:
/// a bridge after everything below it ([`devices_below`]). Releasing a bridge first would
/// let `pcie_portdrv_remove()` clear its Bus Master while a driver below (an NVMe deleting its
/// queues) still runs `.remove` through it. The devices are taken under the rescan/remove lock
/// and released after it is dropped, so no removal below waits for a device lock with the lock
/// held (S5 behind a bridge: a PF's unbind holds `device_lock(PF)` and waits for the lock in
/// `sriov_del_vfs()`). Without memory for the list nothing is released here, and the removal
/// releases the drivers below under the lock, as 7.3.4 does; so does it for a device a rescan
/// adds below the bridge meanwhile.
///
/// # Safety
///
/// `bridge` is live and held by the caller; process context, no device lock held.
pub(crate) unsafe fn release_below(bridge: *mut bindings::pci_dev) {
    let below = {
        let _rescan = RescanRemoveLock::lock();
        // SAFETY: `bridge` is live (safety requirements); the rescan/remove lock is held.
        unsafe { devices_below(bridge) }
    };
    let Ok(below) = below else {
        return;
    };
    for dev in below.iter().rev() {
        // SAFETY: `dev` is held by its reference; no lock is held.
        unsafe { release_one(dev.as_ptr()) };
    }
}

/// Marks `pdev` dead under its device lock, so no driver can bind it again, then releases its
/// driver: the first half of a removal, done before the rescan/remove lock so that the removal
/// proper never waits for the device lock while holding it. Used by every remover here (the
/// `remove` store, pciehp, the s390 removers) and for the VFs of a PF before their removal
/// (`crate::sriov`).
///
/// # Safety
///
/// `pdev` is live and held by the caller; process context. (Called under the rescan/remove lock
/// it would still be correct, only without the ordering it exists for.)
pub(crate) unsafe fn kill_and_release_driver(pdev: *mut bindings::pci_dev) {
    // SAFETY: `pdev` is live (safety requirements).
    let dev = unsafe { &raw mut (*pdev).dev };
    {
        // SAFETY: `dev` is live for the guard's scope; process context.
        let _lock = unsafe { device_lock(dev) };
        // SAFETY: `dev` is live and its device lock is held, as `kill_device()` requires.
        unsafe { bindings::kill_device(dev) };
    }
    // SAFETY: `dev` is live; no device lock is held (the call takes it).
    unsafe { bindings::device_release_driver(dev) };
}

/// Takes `device_lock(dev)` (`dev->mutex`, C-initialised by `device_initialize()`) as a guard of
/// the kernel crate's mutex.
///
/// # Safety
///
/// `dev` is a live, initialised device for `'a`; process context.
pub(crate) unsafe fn device_lock<'a>(dev: *mut bindings::device) -> MutexGuard<'a, ()> {
    // SAFETY: `dev->mutex` is an initialised mutex that lives as long as the device, live for
    // `'a` (safety requirements).
    unsafe { Mutex::<()>::from_raw(&raw mut (*dev).mutex) }.lock()
}
