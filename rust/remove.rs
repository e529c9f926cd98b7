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
    pci,
    rescan_lock::RescanRemoveLock,
    sysfs::{
        self,
        ActiveProtectionBreak, //
    }, //
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
    sysfs::store(|| {
        // SAFETY: `buf` is NUL-terminated (safety requirements). Any malformed value is
        // `EINVAL`, as in 7.3.4.
        if unsafe { sysfs::parse_u64(buf) }.map_err(|_| EINVAL)? == 0 {
            return Ok(count);
        }
        // SAFETY: The store's own device and attribute. The break drops this store's active
        // reference and takes a reference on the device's kobject, which keeps the `pci_dev`
        // alive until it is dropped, after every lock below.
        let Some(_unprotected) = (unsafe { ActiveProtectionBreak::new(dev, attr) }) else {
            // The attribute is gone: the device is being removed by someone else.
            return Ok(count);
        };
        // SAFETY: `dev` is the `dev` field of a `struct pci_dev` (a PCI device attribute).
        let pdev = unsafe { container_of!(dev, bindings::pci_dev, dev) };
        // SAFETY: `pdev` is pinned by the break; process context, no lock held.
        unsafe { release_then_remove(pdev) };
        Ok(count)
    })
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
        let released = unsafe { pci::is_added(pdev) };
        if released {
            // SAFETY: As above.
            unsafe { pci::release_for_removal(pdev) };
        }
        let _rescan = RescanRemoveLock::lock();
        // SAFETY: `pdev` is held; the rescan/remove lock is held, so whether it is added cannot
        // change under us, and a concurrent writer that removed it first leaves nothing to do.
        if unsafe { !pci::is_added(pdev) } {
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
