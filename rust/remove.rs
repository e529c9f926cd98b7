// SPDX-License-Identifier: GPL-2.0

//! Replacement of the sysfs `remove` attribute's store (`remove_store()`,
//! drivers/pci/pci-sysfs.c), ordered so that it never waits for a device lock while holding the
//! rescan/remove lock (Ionut Nechita's v11+ of "PCI: Fix AB-BA deadlock between device_lock and
//! pci_rescan_remove_lock in remove_store").
//!
//! Stock order: rescan/remove lock, then, inside `pci_stop_dev()`, `device_release_driver()`,
//! which takes `device_lock(dev)` and runs the driver's `.remove` (which may disable SR-IOV and
//! so take the rescan/remove lock again, nested). A task that holds `device_lock(dev)` and waits
//! for the rescan/remove lock (`sriov_numvfs_store()` in 7.3.4) closes an AB-BA cycle.
//!
//! Here: mark the device dead under its lock (no driver can bind again: the rebind window Block
//! found), release the driver with no rescan/remove lock held, then stop and remove the device
//! under the lock. The later `device_release_driver()` inside the removal finds no driver and
//! holds `device_lock(dev)` only briefly; nobody waits for the rescan/remove lock while holding
//! the lock of a dead, unbound device. A reference keeps the `pci_dev` alive across the steps.
//!
//! Beyond the upstream patch: the store breaks its sysfs active protection instead of removing
//! its own attribute, so that it never waits for a lock while a removal's drain waits for it
//! (F5, see [`zr_remove_store`]); and a PF whose driver left SR-IOV enabled loses its VFs before it is
//! removed (stock 7.3.4 leaves them registered, pointing at the removed PF; see
//! [`crate::sriov::disable_left_enabled`]).

use crate::{
    bindings_extra,
    pci,
    rescan_lock::RescanRemoveLock, //
};
use kernel::{
    bindings,
    container_of,
    prelude::*, //
};

/// `ssize_t remove_store(struct device *dev, struct device_attribute *attr, const char *buf,
/// size_t count)`.
///
/// Stock `remove_store()` removes its own attribute (`device_remove_file_self()`), which gives
/// the writer's active reference back once the node is unlinked, and then waits for the
/// rescan/remove lock while holding it again. A remover that already holds the lock (a
/// `recover`, slot power-off, a zPCI event, another PCI removal) and deletes the same device
/// drains the device's attributes in `device_del()`, `remove` included, and waits for that
/// reference: each waits for the other (found by the s390x torture, full mix: `recover` in
/// `kernfs_drain()` holding the lock, `remove` writers queued on it; stock 7.3.4 has the same
/// cycle; Documentation/torture.rst, F5). Here the store breaks its active protection first, as
/// `recover` does, so it holds no active reference while it waits for any lock; concurrent
/// writers are serialised by `pci_dev_is_added()` under the lock, and the protection is restored
/// after every lock is dropped.
///
/// # Safety
///
/// Called by sysfs for the `remove` attribute of a PCI device: `dev` is embedded in a live
/// `struct pci_dev`, `buf` is a NUL-terminated buffer of `count` bytes.
#[no_mangle]
pub(crate) unsafe extern "C" fn zr_remove_store(
    dev: *mut bindings::device,
    attr: *mut bindings::device_attribute,
    buf: *const c_char,
    count: usize,
) -> isize {
    let mut val: u64 = 0;
    // SAFETY: `buf` is NUL-terminated (sysfs guarantees it); `val` is a local.
    if unsafe { bindings::kstrtoull(buf, 0, &mut val) } < 0 {
        return EINVAL.to_errno() as isize;
    }
    if val == 0 {
        return count as isize;
    }
    // SAFETY: `dev` and `attr` are the attribute's device and descriptor. The break drops this
    // store's active reference and takes a reference on the device's kobject, which keeps the
    // `pci_dev` alive until the unbreak below.
    let kn = unsafe {
        bindings::sysfs_break_active_protection(&raw mut (*dev).kobj, &raw const (*attr).attr)
    };
    if kn.is_null() {
        // The attribute is gone: the device is being removed by someone else.
        return count as isize;
    }
    // SAFETY: `dev` is the `dev` field of a `struct pci_dev` (a PCI device attribute).
    let pdev = unsafe { container_of!(dev, bindings::pci_dev, dev) };
    // SAFETY: `pdev` is pinned by the break above; process context, no lock held.
    unsafe { release_then_remove(pdev) };
    // SAFETY: Balances the break above, after every lock is dropped; may drop the last
    // reference on the device.
    unsafe { bindings::sysfs_unbreak_active_protection(kn) };
    count as isize
}
crate::c_glue::c_prototype!(zr_remove_store);

/// The removal proper of [`zr_remove_store`]: the driver released with no lock held, then the
/// device stopped and removed under the rescan/remove lock, once it is released.
///
/// The attribute exists from `device_add()` on, but the device counts as added only once
/// `pci_bus_add_device()` has attached its driver, under the rescan/remove lock of the rescan or
/// hot-plug that found it. A writer that comes in between finds nothing to release, waits for
/// the lock and then holds it while it removes a device with a driver bound: the removal waits
/// for `device_lock(dev)`, which a `sriov_numvfs` store holds while its VF add waits for the
/// rescan/remove lock. That is stock 7.3.4's AB-BA cycle back (found by the x86_64 torture, full
/// mix: `remove` of an igb PF written while the re-plugged PF probed, `sriov_numvfs=2` on it
/// meanwhile; the pciehp thread of its slot and the torture's other writers blocked behind them
/// for good). So the removal runs only after a release done while the device was added; a
/// device added while the writer waited goes back to the release.
///
/// # Safety
///
/// `pdev` is live and held by the caller; process context, no lock held.
unsafe fn release_then_remove(pdev: *mut bindings::pci_dev) {
    loop {
        // SAFETY: `pdev` is live and held (safety requirements); no lock is held.
        let released = unsafe { pci_dev_is_added(pdev) };
        if released {
            // SAFETY: As above.
            unsafe { release_for_removal(pdev) };
        }
        let _rescan = RescanRemoveLock::lock();
        // SAFETY: `pdev` is held; the rescan/remove lock is held, so whether it is added cannot
        // change under us, and a concurrent writer that removed it first leaves nothing to do.
        if unsafe { !pci_dev_is_added(pdev) } {
            return;
        }
        if released {
            // SAFETY: As above; the device is dead and without a driver (released above), so the
            // removal waits for no driver.
            unsafe { bindings::pci_stop_and_remove_bus_device(pdev) };
            return;
        }
        // Added (with its driver) while this writer waited for the lock: release it first.
    }
}

/// Whether `pdev` is still added to the PCI core (`pci_dev_is_added()`: bit `PCI_DEV_ADDED`).
///
/// # Safety
///
/// `pdev` is live.
pub(crate) unsafe fn pci_dev_is_added(pdev: *mut bindings::pci_dev) -> bool {
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
/// a bridge after everything below it ([`pci::devices_below`]). Releasing a bridge first would
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
        unsafe { pci::devices_below(bridge) }
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
/// proper never waits for the device lock while holding it. Used by the `remove` store and the
/// s390 removers (`crate::zpci`).
///
/// # Safety
///
/// `pdev` is live and held by the caller; process context. (Called under the rescan/remove lock
/// it would still be correct, only without the ordering it exists for.)
pub(crate) unsafe fn kill_and_release_driver(pdev: *mut bindings::pci_dev) {
    // SAFETY: `pdev` is live (safety requirements); `kill_device()` requires the device lock,
    // which is `dev->mutex`.
    unsafe {
        let dev = &raw mut (*pdev).dev;
        bindings::mutex_lock(&raw mut (*dev).mutex);
        bindings::kill_device(dev);
        bindings::mutex_unlock(&raw mut (*dev).mutex);
        bindings::device_release_driver(dev);
    }
}
