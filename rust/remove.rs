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
//! Beyond the upstream patch, a PF whose driver left SR-IOV enabled loses its VFs before it is
//! removed (stock 7.3.4 leaves them registered, pointing at the removed PF; see
//! [`crate::sriov::disable_left_enabled`]).

use kernel::{
    bindings,
    container_of,
    prelude::*, //
};

/// `ssize_t remove_store(struct device *dev, struct device_attribute *attr, const char *buf,
/// size_t count)`.
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
    // SAFETY: `dev` and `attr` are the attribute's device and descriptor, as sysfs passes them.
    if val == 0 || !unsafe { bindings::device_remove_file_self(dev, attr) } {
        return count as isize;
    }
    // SAFETY: `dev` is the `dev` field of a `struct pci_dev` (a PCI device attribute).
    let pdev = unsafe { container_of!(dev, bindings::pci_dev, dev) };
    // SAFETY: `pdev` is live (sysfs holds the device while the store runs); the reference
    // taken here is dropped at the end, outside every lock.
    unsafe {
        bindings::pci_dev_get(pdev);
        kill_and_release_driver(pdev);
        crate::sriov::disable_left_enabled(pdev);
        bindings::pci_stop_and_remove_bus_device_locked(pdev);
        bindings::pci_dev_put(pdev);
    }
    count as isize
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
