// SPDX-License-Identifier: GPL-2.0

//! A function configured (0x0301, slot power-on) and deconfigured (0x0303, 0x0304, slot
//! power-off): the `pci_dev` scanned and added, or its driver released before the rescan/remove
//! lock and the device removed under it.

use super::zdev::Zdev;
use crate::{
    bindings_extra,
    pci,
    rescan_lock::RescanRemoveLock, //
};
use kernel::{
    bindings,
    prelude::*, //
};

/// Livepatch replacement of `int zpci_bus_scan_device(struct zpci_dev *zdev)`: make a newly
/// configured function (slot power-on, 0x301) a `pci_dev`.
///
/// 7.3.4 enables the function and scans it (`pci_scan_single_device()`) without the
/// rescan/remove lock and takes the lock only to add the device; a bus rescan in between finds
/// the enabled function too, and the two scans register the same device twice (the reference's
/// F3: "proc_dir_entry '...' already registered", a WARNING in `proc_register()`, seen by
/// `zr_power_race` on the stock kernel). Here the lock covers enable, scan and add; the callers
/// hold at most `zdev->state_lock`, which is ordered before it.
///
/// # Safety
///
/// `zdev` is a live function on a zbus with a PCI bus.
#[no_mangle]
pub(crate) unsafe extern "C" fn zr_zpci_bus_scan_device(zdev: *mut bindings::zpci_dev) -> c_int {
    // SAFETY: By the safety requirements.
    let Some(zdev) = (unsafe { Zdev::from_raw(zdev) }) else {
        return ENODEV.to_errno();
    };
    let _rescan = RescanRemoveLock::lock();
    if let Err(e) = prepare_device(&zdev) {
        return e.to_errno();
    }
    // SAFETY: The function is live; `devfn` is set at creation (below 256 on zPCI).
    let Ok(devfn) = c_int::try_from(unsafe { (*zdev.as_ptr()).devfn }) else {
        return ENODEV.to_errno();
    };
    // SAFETY: The function's live root bus and its slot; the rescan/remove lock is held.
    let pdev = unsafe { bindings::pci_scan_single_device(zdev.pci_bus(), devfn) };
    if pdev.is_null() {
        return ENODEV.to_errno();
    }
    // SAFETY: `pdev` was just scanned (or found) on the bus, under the lock.
    unsafe { bindings::pci_bus_add_device(pdev) };
    0
}
crate::c_glue::c_prototype!(zr_zpci_bus_scan_device);

/// `static int zpci_bus_prepare_device(struct zpci_dev *zdev)` of 7.3.4 (arch/s390/pci/pci_bus.c),
/// which [`zr_zpci_bus_scan_device`] calls: the function enabled and its BARs' resources set up
/// and added to its bus. A copy, not a call: static, the original may be inlined into
/// `zpci_bus_scan_device()` and have no symbol (clang does that), and its source is fingerprinted
/// with the replacement's (rust/zr_sources.list). On an error the function is not enabled.
///
/// The function is on a zbus with a PCI bus.
fn prepare_device(zdev: &Zdev) -> Result {
    let z = zdev.as_ptr();
    if !zdev.enabled() {
        // SAFETY: A live function (type invariant of `Zdev`).
        let rc = unsafe { bindings::zpci_enable_device(z) };
        if rc != 0 {
            // SAFETY: As above; `fid` is constant.
            pr_err!("Enabling PCI function {:08x} failed\n", unsafe { (*z).fid });
            return Err(Error::from_errno(rc));
        }
    }
    // SAFETY: As above; `has_resources` is set by `zpci_setup_bus_resources()` under the
    // rescan/remove lock the caller holds.
    if unsafe { (*z).has_resources() } == 0 {
        // SAFETY: An enabled function; it sets the BARs' resources and `has_resources`.
        unsafe { bindings_extra::zpci_setup_bus_resources(z) };
        let bus = zdev.pci_bus();
        // SAFETY: As above; the BARs are the function's, their resources set up just now.
        for bar in unsafe { &(*z).bars } {
            if !bar.res.is_null() {
                // SAFETY: `bus` is the function's live root bus, `bar.res` a resource of the
                // function that lives as long as it.
                unsafe { bindings::pci_bus_add_resource(bus, bar.res) };
            }
        }
    }
    Ok(())
}

/// Livepatch replacement of `void zpci_bus_remove_device(struct zpci_dev *zdev, bool
/// set_error)`, the removal behind a hard deconfigure (0x304) and, through
/// [`zr_zpci_deconfigure_device`], a deconfigure request (0x303) and slot power-off.
///
/// 7.3.4 releases the driver inside `pci_stop_and_remove_bus_device_locked()`, with the
/// rescan/remove lock held: it waits for `device_lock(pdev)` under that lock. A task that holds
/// `device_lock(pdev)` and then takes the rescan/remove lock (an unbind or `rmmod` of a PF driver
/// disabling SR-IOV, whose VF removal runs under the lock) closes an AB-BA cycle (the reference's
/// S5). As `remove_store()` (Ionut Nechita's patch 2), the function is marked dead and its driver
/// released first, outside the rescan/remove lock; the removal proper then finds no driver. The
/// caller holds `zdev->state_lock`, and state_lock → device_lock is the order the error handler
/// already uses.
///
/// # Safety
///
/// `zdev` is a live function, its `state_lock` held by the caller.
#[no_mangle]
pub(crate) unsafe extern "C" fn zr_zpci_bus_remove_device(
    zdev: *mut bindings::zpci_dev,
    set_error: bool,
) {
    // SAFETY: By the safety requirements.
    if let Some(zdev) = unsafe { Zdev::from_raw(zdev) } {
        bus_remove_device(&zdev, set_error, Release::First);
    }
}
crate::c_glue::c_prototype!(zr_zpci_bus_remove_device);

/// Whether [`bus_remove_device`] releases the driver before taking the rescan/remove lock.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Release {
    /// Release it first (the caller holds no rescan/remove lock).
    First,
    /// The caller released it already, then took the rescan/remove lock.
    Done,
}

/// The body of [`zr_zpci_bus_remove_device`].
fn bus_remove_device(zdev: &Zdev, set_error: bool, release: Release) {
    let pdev = zdev.get_pci_dev();
    if pdev.is_null() {
        return;
    }
    // SAFETY: `pdev` is held by the reference `get_pci_dev()` took, dropped here.
    unsafe {
        if set_error {
            (*pdev).error_state = bindings::pci_channel_io_perm_failure;
        }
        if release == Release::First {
            // A VF's driver too: vfio-pci's `.remove` waits for as long as a user holds the VF
            // (see `release_vfs()` in `crate::sriov`), which must not be under the lock.
            pci::release_for_removal(pdev);
        }
        if (*pdev).is_virtfn() != 0 {
            // Under the lock, and only while the VF is registered: a removal of its PF (sysfs
            // `remove`, `recover`, which remove the VFs first) may have taken it meanwhile, and
            // with it the VF's reference on the PF that `zpci_iov_remove_virtfn()` follows
            // (`pdev->physfn`). The lock nests where the caller holds it (`Release::Done`).
            let _rescan = RescanRemoveLock::lock();
            if pci::is_added(pdev) {
                bindings_extra::zpci_iov_remove_virtfn(pdev, c_int::from((*zdev.as_ptr()).vfn));
            }
        } else {
            bindings::pci_stop_and_remove_bus_device_locked(pdev);
        }
        bindings::pci_dev_put(pdev);
    }
}

/// Livepatch replacement of `int zpci_deconfigure_device(struct zpci_dev *zdev)`: remove the
/// function from the PCI core, disable it and give it back to the platform (SCLP deconfigure),
/// behind a deconfigure request (0x303, QMP `device_del`) and slot power-off.
///
/// 7.3.4 holds the rescan/remove lock only around the removal: a bus rescan between the
/// removal and the disable finds the still enabled function and adds a new `pci_dev` for it,
/// which the deconfigure then pulls the function from under; the platform's unplug never
/// completes (found by the S1 race test: `device_del` gets no `DEVICE_DELETED`). Here the
/// rescan/remove lock covers removal and disable, so a rescan sees the function either enabled
/// and present or disabled, and a disabled function answers no config access, so no scan finds
/// it. The SCLP deconfigure, a firmware call, runs after the lock is dropped, under `state_lock`
/// only, as in 7.3.4. The driver is released before the lock, as in
/// [`zr_zpci_bus_remove_device`].
///
/// # Safety
///
/// `zdev` is a live function, its `state_lock` held by the caller.
#[no_mangle]
pub(crate) unsafe extern "C" fn zr_zpci_deconfigure_device(zdev: *mut bindings::zpci_dev) -> c_int {
    // SAFETY: By the safety requirements.
    let Some(zdev) = (unsafe { Zdev::from_raw(zdev) }) else {
        return 0;
    };
    let z = zdev.as_ptr();
    // `lockdep_assert_held(&zdev->state_lock)`, as in 7.3.4.
    // SAFETY: `state_lock` is an initialised mutex of a live function.
    unsafe { bindings::mutex_assert_is_held(&raw mut (*z).state_lock) };
    // SAFETY: `state` is written under `state_lock`, which the caller holds.
    if unsafe { (*z).state } != bindings::zpci_state_ZPCI_FN_STATE_CONFIGURED {
        return 0;
    }
    let pdev = zdev.get_pci_dev();
    if !pdev.is_null() {
        // SAFETY: `pdev` is held by the reference `get_pci_dev()` took, dropped here.
        unsafe {
            pci::release_for_removal(pdev);
            bindings::pci_dev_put(pdev);
        }
    }
    {
        let _rescan = RescanRemoveLock::lock();
        // Without a scanned bus this finds nothing, as 7.3.4's `if (zdev->zbus->bus)` skips it.
        bus_remove_device(&zdev, false, Release::Done);
        if zdev.enabled() {
            // SAFETY: The function is live; its state is protected by the caller's `state_lock`.
            let rc = unsafe { bindings::zpci_disable_device(z) };
            if rc != 0 {
                return rc;
            }
        }
    }
    // SAFETY: As above; `fid` is constant.
    let fid = unsafe { (*z).fid };
    // SAFETY: An SCLP call for a function this kernel owns.
    let rc = unsafe { bindings::sclp_pci_deconfigure(fid) };
    zpci_dbg!(3, c"deconf fid:%x, rc:%d\n", fid, rc);
    if rc != 0 {
        return rc;
    }
    // SAFETY: `state` is written under `state_lock`, which the caller holds.
    unsafe { (*z).state = bindings::zpci_state_ZPCI_FN_STATE_STANDBY };
    0
}
crate::c_glue::c_prototype!(zr_zpci_deconfigure_device);
