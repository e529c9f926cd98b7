// SPDX-License-Identifier: GPL-2.0

//! A function's life on `zpci_list`: added (`zpci_add_device()`), its last reference dropped
//! (`zpci_zdev_put()`), reserved by the platform (0x0306). Each takes the rescan/remove lock
//! before `zpci_add_remove_lock`, so the release's own acquisitions of it nest.

use super::{
    locks::AddRemoveGuard,
    zdev::Zdev, //
};
use crate::{
    bindings_extra,
    rescan_lock::RescanRemoveLock, //
};
use kernel::{
    bindings,
    container_of,
    prelude::*, //
};

/// Livepatch replacement of `void zpci_zdev_put(struct zpci_dev *zdev)`: the rescan/remove lock
/// before `zpci_add_remove_lock`, so the release's own acquisitions nest.
///
/// # Safety
///
/// `zdev` is null or a live function on which the caller holds the reference it drops.
#[no_mangle]
pub(crate) unsafe extern "C" fn zr_zpci_zdev_put(zdev: *mut bindings::zpci_dev) {
    // SAFETY: By the safety requirements.
    let Some(zdev) = (unsafe { Zdev::from_raw(zdev) }) else {
        return;
    };
    let rescan = RescanRemoveLock::lock();
    let ar = AddRemoveGuard::lock(&rescan);
    zdev.put(&ar);
}
crate::c_glue::c_prototype!(zr_zpci_zdev_put);

/// Livepatch replacement of `void zpci_remove_reserved_devices(void)`, the handler of the
/// platform's 0x0306 ("no function handle or id stored": reservations announced without naming
/// the functions): every function in standby that CLP no longer lists is reserved
/// (`zpci_device_reserved()`, which drops the reference its presence held).
///
/// 7.3.4 moves those functions from `zpci_list` to a list of its own and reserves them without
/// their `state_lock`, which `zpci_device_reserved()` asserts (lockdep's WARNING, and a state
/// written without its lock), and without looking at their state again: a configure (0x0301,
/// slot power-on) between the walk and the reservation would be undone behind its back. Here
/// each function is reserved under its `state_lock`, still in standby; it stays on `zpci_list`
/// until its release unlinks it.
///
/// # Safety
///
/// As the original's: called from the zPCI event handler, in process context.
#[no_mangle]
pub(crate) unsafe extern "C" fn zr_zpci_remove_reserved_devices() {
    // Each round reserves one function or finds none: a reserved function is no longer in
    // standby, and one that left standby meanwhile is skipped.
    while let Some(zdev) = next_reserved() {
        {
            let state = zdev.lock_state();
            if state.state() == bindings::zpci_state_ZPCI_FN_STATE_STANDBY {
                // SAFETY: A live function, its `state_lock` held, as the function requires.
                unsafe { bindings::zpci_device_reserved(zdev.as_ptr()) };
            }
        }
        // Drops the reference `next_reserved()` took, consuming `zdev` with it.
        let rescan = RescanRemoveLock::lock();
        zdev.put(&AddRemoveGuard::lock(&rescan));
    }
}
crate::c_glue::c_prototype!(zr_zpci_remove_reserved_devices);

/// The first function on `zpci_list` that is in standby and that CLP reports reserved, with a
/// reference taken for the caller (dropped with [`Zdev::put`]).
///
/// Each call walks the list from its head: O(functions × reserved) CLP list calls for one
/// 0x0306, each under `zpci_list_lock` as 7.3.4's single walk does per function; the lists
/// are short (one entry per function of the partition), and the walk needs no cursor that
/// outlives the lock.
fn next_reserved() -> Option<Zdev> {
    let rescan = RescanRemoveLock::lock();
    let ar = AddRemoveGuard::lock(&rescan);
    ar.with_list(|head| {
        // SAFETY: `zpci_list_lock` is held: the entries are live functions linked by `entry`,
        // and none is freed or unlinked meanwhile (the last put needs that lock).
        unsafe {
            let mut pos = (*head).next;
            while pos != head {
                let z = container_of!(pos, bindings::zpci_dev, entry);
                let mut state: bindings::zpci_state = bindings::zpci_state_ZPCI_FN_STATE_STANDBY;
                // A racy read, as in 7.3.4: the caller checks again under `state_lock`.
                // `clp_get_state()` allocates with GFP_ATOMIC: callable under the spinlock.
                if (*z).state == bindings::zpci_state_ZPCI_FN_STATE_STANDBY
                    && bindings::clp_get_state((*z).fid, &mut state) == 0
                    && state == bindings::zpci_state_ZPCI_FN_STATE_RESERVED
                {
                    // `zpci_zdev_get()`: the list's own reference keeps the count above zero.
                    bindings::refcount_inc(&raw mut (*z).kref.refcount);
                    return Zdev::from_raw(z);
                }
                pos = (*pos).next;
            }
        }
        None
    })
}

/// Livepatch replacement of `int zpci_add_device(struct zpci_dev *zdev)`: as 7.3.4, with the
/// rescan/remove lock taken before `zpci_add_remove_lock`. A failed bus registration drops the
/// bus (`zpci_bus_put()` → `zpci_bus_release()`, which takes the rescan/remove lock): nested here,
/// where 7.3.4 ordered it after `zpci_add_remove_lock` (Block's (B')).
///
/// # Safety
///
/// `zdev` is a newly created function not yet on `zpci_list`, owned by the caller.
#[no_mangle]
pub(crate) unsafe extern "C" fn zr_zpci_add_device(zdev: *mut bindings::zpci_dev) -> c_int {
    let rescan = RescanRemoveLock::lock();
    let ar = AddRemoveGuard::lock(&rescan);
    // SAFETY: `zdev` is valid (safety requirements).
    let (fid, fh, state) = unsafe { ((*zdev).fid, (*zdev).fh, (*zdev).state) };
    zpci_dbg!(1, c"add fid:%x, fh:%x, c:%d\n", fid, fh, state);
    // SAFETY: `zdev` is a new function, as these functions expect; `pci_root_ops` is the static
    // ops table of arch/s390/pci/pci.c.
    let mut rc = unsafe { bindings::zpci_init_iommu(zdev) };
    if rc == 0 {
        // SAFETY: As above.
        rc =
            unsafe { bindings_extra::zpci_bus_device_register(zdev, &raw mut super::pci_root_ops) };
        if rc == 0 {
            // SAFETY: `zdev` is not yet shared: its kref starts at one (`kref_init()`), then
            // it is published on `zpci_list` under `zpci_list_lock`.
            unsafe { bindings::refcount_set(&raw mut (*zdev).kref.refcount, 1) };
            // SAFETY: `zdev->entry` is unlinked (new function); the list lock is held in `f`.
            ar.with_list(|list| unsafe { bindings::list_add_tail(&raw mut (*zdev).entry, list) });
            return 0;
        }
        // SAFETY: Undo `zpci_init_iommu()`.
        unsafe { bindings::zpci_destroy_iommu(zdev) };
    }
    zpci_dbg!(0, c"add fid:%x, rc:%d\n", fid, rc);
    rc
}
crate::c_glue::c_prototype!(zr_zpci_add_device);
