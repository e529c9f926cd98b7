// SPDX-License-Identifier: GPL-2.0

//! The s390 sysfs `recover` attribute: reset a function and probe it again.

use super::zdev::Zdev;
use crate::{
    bindings_extra,
    pci,
    rescan_lock::{
        RescanRemoveGuard,
        RescanRemoveLock, //
    },
    sysfs::{
        self,
        ActiveProtectionBreak, //
    }, //
};
use kernel::{
    bindings,
    container_of,
    error::to_result,
    prelude::*, //
};

/// `_do_recover()` of arch/s390/pci/pci_sysfs.c (inlined into `recover_store()` in 7.3.4).
///
/// # Safety
///
/// `pdev` is live and added, `zdev` its function; the caller holds `zdev->state_lock` and the
/// rescan/remove lock (`_rescan`).
unsafe fn do_recover(
    pdev: *mut bindings::pci_dev,
    zdev: &Zdev,
    _rescan: &RescanRemoveGuard,
) -> c_int {
    // SAFETY: By the safety requirements (the removal asserts the rescan/remove lock, which
    // `zpci_iov_remove_virtfn()` takes again, nested).
    unsafe {
        if (*pdev).is_virtfn() != 0 {
            // A VF goes the way its PF removes it (`pci_iov_remove_virtfn()`: the PF's virtfnN
            // link, the VF's physfn link and reference), as in `zpci_bus_remove_device()`.
            // 7.3.4 removes it as a plain function and leaves the PF's link: the rescan then
            // cannot link the new VF ("cannot create duplicate filename .../virtfnN"), which
            // stays a function of its own to Linux, not a VF of its PF.
            bindings_extra::zpci_iov_remove_virtfn(pdev, c_int::from((*zdev.as_ptr()).vfn));
        } else {
            bindings::pci_stop_and_remove_bus_device(pdev);
        }
    }
    if zdev.enabled() {
        // SAFETY: The function is live; its state is protected by the held `state_lock`.
        let ret = unsafe { bindings::zpci_disable_device(zdev.as_ptr()) };
        // A z/VM vs LPAR inconsistency in the error state: the handle may say enabled while
        // disable reports the function already disabled; not an error (as 7.3.4).
        if ret != 0 && ret != EINVAL.to_errno() {
            return ret;
        }
    }
    // SAFETY: As above.
    unsafe { bindings::zpci_reenable_device(zdev.as_ptr()) }
}

/// Livepatch replacement of the s390 sysfs `recover` attribute's store (`recover_store()`,
/// arch/s390/pci/pci_sysfs.c): reset a function and probe it again.
///
/// Three changes to 7.3.4:
///
/// * A VF is removed as a VF (see [`do_recover`]), so the rescan links the new one to its PF.
/// * The driver is released before the rescan/remove lock (as in
///   [`zr_zpci_bus_remove_device`]), so `recover` never waits for a device lock while holding
///   it; the old `pci_dev` is marked dead so nothing binds it again (the rescan creates a new
///   one).
/// * The attribute's active protection is restored on every path, the early return for a
///   function no longer configured included (the reference's F1, a bug of Block's v4 port).
///
/// # Safety
///
/// Called by sysfs for the `recover` attribute of a zPCI `pci_dev`: `dev` is embedded in a live
/// `struct pci_dev`, `attr` is the attribute.
#[no_mangle]
pub(crate) unsafe extern "C" fn zr_recover_store(
    dev: *mut bindings::device,
    attr: *mut bindings::device_attribute,
    _buf: *const c_char,
    count: usize,
) -> isize {
    sysfs::store(|| {
        // SAFETY: `dev` is the `dev` field of a `struct pci_dev` (a PCI device attribute).
        let pdev = unsafe { container_of!(dev, bindings::pci_dev, dev) };
        // Keep the device (and so its function) alive across the removal below, and let the
        // removal drain this attribute without waiting for this very store (as in 7.3.4).
        // SAFETY: The store's own device and attribute.
        let Some(_unprotected) = (unsafe { ActiveProtectionBreak::new(dev, attr) }) else {
            // The attribute is gone already: a concurrent `recover` or removal deletes the
            // device. Going on would mean waiting for locks while still holding this store's
            // active reference, which that removal's drain waits for (the cycle
            // `zr_remove_store()` describes).
            return Err(ENODEV);
        };
        // SAFETY: `pdev` is a live zPCI device, pinned by the break (a kobject reference).
        let zdev = unsafe { Zdev::of_pci_dev(pdev) }.ok_or(ENODEV)?;
        // The protection is restored on every path, after every lock is dropped.
        recover_locked(dev, attr, pdev, &zdev)?;
        Ok(count)
    })
}
crate::c_glue::c_prototype!(zr_recover_store);

/// The locked part of [`zr_recover_store`]; every guard is dropped when it returns.
fn recover_locked(
    dev: *mut bindings::device,
    attr: *mut bindings::device_attribute,
    pdev: *mut bindings::pci_dev,
    zdev: &Zdev,
) -> Result {
    // The function must be configured and stay so.
    let state = zdev.lock_state();
    if state.state() != bindings::zpci_state_ZPCI_FN_STATE_CONFIGURED {
        return Ok(());
    }
    // The attribute goes first: a second removal is a no-op, which serialises concurrent
    // `recover` writes (all but the first find the old device removed). But only while the
    // device is registered: a concurrent `recover` (or `remove`) may have deleted it, and with
    // it its sysfs directory, while this store waited for `state_lock`; removing a file of a
    // deleted device warns (`kernfs: can not remove 'recover', no directory`, F1, which stock
    // `recover_store()` shows and the first version of this replacement kept: 5 WARNINGs in
    // 1283 operations of the long s390x torture). The rescan/remove lock keeps the device
    // registered from the check to the removal; every remover deletes devices under it.
    let added = {
        let _rescan = RescanRemoveLock::lock();
        // SAFETY: `pdev` is pinned by the caller.
        let added = unsafe { pci::is_added(pdev) };
        if added {
            // SAFETY: `dev`, `attr` as the store got them; `dev` is registered (checked under
            // the lock every remover holds).
            unsafe { bindings::device_remove_file(dev, attr) };
        }
        added
    };
    if added {
        // SAFETY: As above; under `state_lock`, before the rescan/remove lock.
        unsafe { pci::release_for_removal(pdev) };
    }
    let rescan = RescanRemoveLock::lock();
    let mut ret = 0;
    // SAFETY: `pdev` is pinned by the caller.
    if unsafe { pci::is_added(pdev) } {
        // SAFETY: `pdev` is added, `zdev` its function; `state_lock` and the rescan/remove lock
        // are held.
        ret = unsafe { do_recover(pdev, zdev, &rescan) };
    }
    // SAFETY: The function's root bus, live while the function is; the lock is held.
    unsafe { bindings::pci_rescan_bus(zdev.pci_bus()) };
    drop(rescan);
    drop(state);
    to_result(ret)
}
