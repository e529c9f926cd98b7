// SPDX-License-Identifier: GPL-2.0

//! PCIe native hot-plug (drivers/pci/hotplug/pciehp_pci.c) with drivers released before the
//! rescan/remove lock, closing the reference's S5 on PCIe, and with the rescan/remove lock taken
//! before `ctrl->reset_lock`, never under it.
//!
//! `pciehp_unconfigure_device()` takes the rescan/remove lock, then stops and removes every device
//! below the port; the removal releases each driver and so waits for `device_lock(dev)` with the
//! lock held. With VF removal under the rescan/remove lock (this patch's `sriov_disable()`), a PF
//! driver unbound at the same time (sysfs `unbind`, `rmmod`, `sriov_numvfs=0`) holds
//! `device_lock(PF)` and waits for the rescan/remove lock in `sriov_del_vfs()`: an AB-BA cycle
//! that stock 7.3.4 does not have (its VF removal takes no lock, which is S6) and neither upstream
//! series closes ("concurrent unbind_store + hotplug-event remains a known limitation").
//! The replacement does what `remove_store()` and the s390 removers of this patch do: every
//! device below the port is marked dead and its driver released first, with no rescan/remove lock
//! held (VFs first, then the PF, whose `.remove` removes its VFs under the lock, not nested), then
//! the 7.3.4 removal runs under the lock and finds no driver.
//!
//! The pciehp thread enters both replaced functions holding `ctrl->reset_lock` for reading, and
//! 7.3.4 takes the rescan/remove lock with it held. A slot reset takes `reset_lock` for writing
//! (`pciehp_reset_slot()`) with the reset device's lock held (`pci_reset_function()`), and a
//! waiting writer holds back every new reader. So: the pciehp thread holds `reset_lock` and waits
//! for the rescan/remove lock; its holder (a `remove` writer, a rescan, another port's hot-plug)
//! removes or attaches a device below the port and waits for its device lock; the `reset` of
//! that device holds it and waits for `reset_lock`. Lockdep does not see device locks, only the
//! pair it reports on the first hot-plug of every boot ("possible circular locking dependency",
//! `rlock(&ctrl->reset_lock)` against `pci_rescan_remove_lock`), after which it switches itself
//! off. Here both functions drop `reset_lock`, take the rescan/remove lock and take `reset_lock`
//! again inside it ([`under_rescan_lock`]): the only order left is rescan/remove lock, then
//! `reset_lock`, and no reader of `reset_lock` waits for the rescan/remove lock.

use crate::{
    bindings_extra,
    pci,
    rescan_lock::RescanRemoveLock, //
};
use kernel::{
    bindings,
    device::Device,
    prelude::*,
    sync::atomic::{Atomic, Full}, //
};

/// Devfns on a bus.
const DEVFNS: u32 = 256;

/// `pci_dev_set_disconnected()` (drivers/pci/pci.h, static inline), the `pci_walk_bus()`
/// callback of a surprise removal: the device enters the permanent failure state, so drivers
/// stop touching it.
extern "C" fn set_disconnected(dev: *mut bindings::pci_dev, _data: *mut c_void) -> c_int {
    // SAFETY: `pci_walk_bus()` passes live devices; `error_state` is a naturally aligned 32-bit
    // word that the PCI core changes with `xchg()`/`cmpxchg()` only, as here.
    let state = unsafe { Atomic::<u32>::from_ptr(&raw mut (*dev).error_state) };
    state.xchg(bindings::pci_channel_io_perm_failure, Full);
    #[cfg(CONFIG_PCI_DOE)]
    // SAFETY: `dev` is live.
    unsafe {
        bindings_extra::pci_doe_disconnected(dev)
    };
    0
}

/// Takes `ctrl->reset_lock` for reading at the port's nesting level (`ctrl->depth`), as pciehp
/// does.
///
/// # Safety
///
/// `ctrl` is live; the current task does not hold the lock.
unsafe fn reset_lock_read(ctrl: *mut bindings_extra::controller) {
    #[cfg(CONFIG_DEBUG_LOCK_ALLOC)]
    {
        // The port's nesting depth below other hot-plug ports: a lockdep subclass, below 8 (an
        // out-of-range value is passed on for lockdep to report, as C's conversion would).
        // SAFETY: `ctrl` is live.
        let depth = c_int::try_from(unsafe { (*ctrl).depth }).unwrap_or(c_int::MAX);
        // SAFETY: `ctrl` is live.
        unsafe { bindings::down_read_nested(&raw mut (*ctrl).reset_lock, depth) };
    }
    #[cfg(not(CONFIG_DEBUG_LOCK_ALLOC))]
    // SAFETY: `ctrl` is live.
    unsafe {
        bindings::down_read(&raw mut (*ctrl).reset_lock)
    };
}

/// `ctrl->reset_lock` released for reading while `f` runs, and taken again after it, as 7.3.4
/// does around each driver binding and removal.
///
/// # Safety
///
/// The current task holds `ctrl->reset_lock` for reading; `ctrl` is live.
unsafe fn without_reset_lock<T>(ctrl: *mut bindings_extra::controller, f: impl FnOnce() -> T) -> T {
    // SAFETY: By the safety requirements.
    unsafe { bindings::up_read(&raw mut (*ctrl).reset_lock) };
    let ret = f();
    // SAFETY: `ctrl` is live; the lock was released above.
    unsafe { reset_lock_read(ctrl) };
    ret
}

/// `f` run under the rescan/remove lock, with `ctrl->reset_lock` held for reading inside it:
/// the caller's `reset_lock` is dropped before the rescan/remove lock is taken and taken again
/// after it is released, so that `reset_lock` is never held while the rescan/remove lock is
/// waited for (see the module documentation).
///
/// # Safety
///
/// The current task holds `ctrl->reset_lock` for reading; `ctrl` is live.
unsafe fn under_rescan_lock<T>(ctrl: *mut bindings_extra::controller, f: impl FnOnce() -> T) -> T {
    let locked = || {
        let _rescan = RescanRemoveLock::lock();
        // SAFETY: `ctrl` is live; `without_reset_lock()` below released the lock.
        unsafe { reset_lock_read(ctrl) };
        let ret = f();
        // SAFETY: Taken above; released before the rescan/remove lock is.
        unsafe { bindings::up_read(&raw mut (*ctrl).reset_lock) };
        ret
    };
    // SAFETY: By the safety requirements.
    unsafe { without_reset_lock(ctrl, locked) }
}

/// The hot-plug port of `ctrl` and its subordinate bus.
///
/// # Safety
///
/// `ctrl` is live.
unsafe fn port_and_bus(
    ctrl: *mut bindings_extra::controller,
) -> (*mut bindings::pci_dev, *mut bindings::pci_bus) {
    // SAFETY: `ctrl` is live; a hot-plug port has a subordinate bus while its controller is.
    unsafe {
        let port = (*(*ctrl).pcie).port;
        (port, (*port).subordinate)
    }
}

/// Livepatch replacement of `int pciehp_configure_device(struct controller *ctrl)`: enumerate
/// the devices below a hot-plug port and add them. Returns 0, `-EEXIST` if they are enumerated
/// already or `-ENODEV` if none is found. 7.3.4's body, under [`under_rescan_lock`].
///
/// # Safety
///
/// Called by pciehp with `ctrl` live and its `reset_lock` held for reading.
#[no_mangle]
pub(crate) unsafe extern "C" fn zr_pciehp_configure_device(
    ctrl: *mut bindings_extra::controller,
) -> c_int {
    // SAFETY: By the safety requirements.
    let (port, parent) = unsafe { port_and_bus(ctrl) };
    // SAFETY: `port` is live while its controller is.
    let port_dev = unsafe { Device::from_raw(&raw mut (*port).dev) };
    // SAFETY: By the safety requirements; `configure()` runs with both locks held.
    unsafe { under_rescan_lock(ctrl, || configure(ctrl, port, port_dev, parent)) }
}
crate::c_glue::c_prototype!(zr_pciehp_configure_device);

/// The body of [`zr_pciehp_configure_device`], under the rescan/remove lock and `reset_lock`.
///
/// # Safety
///
/// `ctrl`, its `port` and the port's subordinate bus `parent` are live; the current task holds
/// the rescan/remove lock and `ctrl->reset_lock` for reading.
unsafe fn configure(
    ctrl: *mut bindings_extra::controller,
    port: *mut bindings::pci_dev,
    port_dev: &Device,
    parent: *mut bindings::pci_bus,
) -> c_int {
    // SAFETY: `parent` is live; `pci_get_slot()` returns a counted reference or NULL.
    let dev = unsafe { bindings::pci_get_slot(parent, 0) };
    if !dev.is_null() {
        // The device is already there: configured by the boot firmware or a previous hot-plug.
        // SAFETY: `dev` is held by the reference `pci_get_slot()` took.
        let existing: &Device = unsafe { Device::from_raw(&raw mut (*dev).dev) };
        dev_dbg!(
            port_dev,
            "Device {} already exists, skipping hot-add\n",
            existing.name()
        );
        // SAFETY: The reference `pci_get_slot()` took.
        unsafe { bindings::pci_dev_put(dev) };
        return EEXIST.to_errno();
    }
    // SAFETY: `parent` is live; the rescan/remove lock is held, as the scan requires.
    if unsafe { bindings::pci_scan_slot(parent, 0) } == 0 {
        dev_err!(port_dev, "No new device found\n");
        return ENODEV.to_errno();
    }
    // SAFETY: `parent`'s device list changes only under the rescan/remove lock, held.
    unsafe {
        let head = &raw mut (*parent).devices;
        let mut pos = (*head).next;
        while pos != head {
            let dev = kernel::container_of!(pos, bindings::pci_dev, bus_list);
            // `for_each_pci_bridge()`: `pci_is_bridge()`, type 1 (bridge) or 2 (CardBus).
            let hdr = u32::from((*dev).hdr_type);
            if hdr == bindings::PCI_HEADER_TYPE_BRIDGE || hdr == bindings::PCI_HEADER_TYPE_CARDBUS {
                bindings_extra::pci_hp_add_bridge(dev);
            }
            pos = (*pos).next;
        }
        bindings::pci_assign_unassigned_bridge_resources(port);
        bindings::pcie_bus_configure_settings(parent);
        // Release reset_lock during driver binding to avoid AB-BA deadlock with device_lock.
        without_reset_lock(ctrl, || bindings::pci_bus_add_devices(parent));
        let dev = bindings::pci_get_slot(parent, 0);
        if !dev.is_null() {
            (*ctrl).dsn = bindings::pci_get_dsn(dev);
            bindings::pci_dev_put(dev);
        }
    }
    0
}

/// Livepatch replacement of `void pciehp_unconfigure_device(struct controller *ctrl, bool
/// presence)`: remove the devices below a hot-plug port, quiescing them if the card is still
/// present (`presence`), marking them disconnected otherwise.
///
/// # Safety
///
/// Called by pciehp with `ctrl` live and its `reset_lock` held for reading.
#[no_mangle]
pub(crate) unsafe extern "C" fn zr_pciehp_unconfigure_device(
    ctrl: *mut bindings_extra::controller,
    presence: bool,
) {
    // SAFETY: By the safety requirements.
    let (_, parent) = unsafe { port_and_bus(ctrl) };
    if !presence {
        // SAFETY: `parent` is live; the callback matches `pci_walk_bus()`'s.
        unsafe { bindings::pci_walk_bus(parent, Some(set_disconnected), core::ptr::null_mut()) };
    }
    loop {
        // SAFETY: By the safety requirements.
        unsafe { release_drivers(ctrl, parent) };
        // SAFETY: By the safety requirements; `remove_released()` runs with both locks held.
        if unsafe { under_rescan_lock(ctrl, || remove_released(ctrl, parent, presence)) } {
            return;
        }
    }
}
crate::c_glue::c_prototype!(zr_pciehp_unconfigure_device);

/// Marks every device below the port dead and releases its driver, without the rescan/remove
/// lock: highest devfn first, so a PF's VFs (and other functions) go before function 0, as the
/// removal's reverse walk does; below a bridge in the slot (a switch), everything below it
/// before the bridge ([`pci::release_below`]).
///
/// # Safety
///
/// `ctrl` and its subordinate bus `parent` are live; the current task holds `ctrl->reset_lock`
/// for reading, and no rescan/remove lock.
unsafe fn release_drivers(ctrl: *mut bindings_extra::controller, parent: *mut bindings::pci_bus) {
    for devfn in (0..DEVFNS).rev() {
        // SAFETY: `parent` is live; `pci_get_slot()` takes `pci_bus_sem` itself and returns a
        // reference, dropped below.
        let dev = unsafe { bindings::pci_get_slot(parent, devfn) };
        if dev.is_null() {
            continue;
        }
        // SAFETY: The caller holds `reset_lock` for reading; `dev` is held by the reference.
        unsafe {
            without_reset_lock(ctrl, || {
                pci::release_below(dev);
                pci::kill_and_release_driver(dev);
            });
            bindings::pci_dev_put(dev);
        }
    }
}

/// The 7.3.4 removal, under the rescan/remove lock: the drivers are gone, nobody waits for a
/// device lock here. Returns `false`, having removed nothing, if a device below the port has a
/// driver: one that a rescan added after [`release_drivers`] (its removal would wait for its
/// device lock with the lock held); the caller releases again and retries.
///
/// # Safety
///
/// `ctrl` and its subordinate bus `parent` are live; the current task holds the rescan/remove
/// lock and `ctrl->reset_lock` for reading.
unsafe fn remove_released(
    ctrl: *mut bindings_extra::controller,
    parent: *mut bindings::pci_bus,
    presence: bool,
) -> bool {
    // SAFETY: `parent` is live; its device list changes only under the rescan/remove lock, held.
    let head = unsafe { &raw mut (*parent).devices };
    // SAFETY: As above; the list's entries are `bus_list` members of live devices, and a
    // device's driver is bound and released under its device lock only, so the read is a
    // snapshot (a driver that binds after it is the 7.3.4 behaviour, not a new one).
    unsafe {
        let mut pos = (*head).next;
        while pos != head {
            let dev = kernel::container_of!(pos, bindings::pci_dev, bus_list);
            if !core::ptr::read_volatile(&raw const (*dev).dev.driver).is_null() {
                return false;
            }
            pos = (*pos).next;
        }
    }
    // Reverse walk: stopping a PF removes its VFs from the list (see 7.3.4's comment).
    // SAFETY: As above; `prev` of a list head is its last entry or the head itself.
    let mut pos = unsafe { (*head).prev };
    while pos != head {
        // SAFETY: `pos` is the `bus_list` member of a device on the list.
        let dev = unsafe { kernel::container_of!(pos, bindings::pci_dev, bus_list) };
        // SAFETY: As above: read before `dev` may leave the list (`list_for_each_entry_safe_reverse`).
        let prev = unsafe { (*pos).prev };
        // SAFETY: `dev` is on the list, hence live; the reference keeps it so across its removal.
        unsafe {
            bindings::pci_dev_get(dev);
            without_reset_lock(ctrl, || bindings::pci_stop_and_remove_bus_device(dev));
            if presence {
                // Ensure that no new Requests will be generated from the device.
                let mut command: u16 = 0;
                bindings::pci_read_config_word(dev, bindings::PCI_COMMAND as c_int, &mut command);
                command &= !((bindings::PCI_COMMAND_MASTER | bindings::PCI_COMMAND_SERR) as u16);
                command |= bindings::PCI_COMMAND_INTX_DISABLE as u16;
                bindings::pci_write_config_word(dev, bindings::PCI_COMMAND as c_int, command);
            }
            bindings::pci_dev_put(dev);
        }
        pos = prev;
    }
    true
}
