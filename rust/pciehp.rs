// SPDX-License-Identifier: GPL-2.0

//! PCIe native hot-unplug with drivers released before the rescan/remove lock
//! (drivers/pci/hotplug/pciehp_pci.c), closing the reference's S5 on PCIe.
//!
//! `pciehp_unconfigure_device()` takes the rescan/remove lock, then stops and removes every device
//! below the port; the removal releases each driver and so waits for `device_lock(dev)` with the
//! lock held. With VF removal under the rescan/remove lock (this patch's `sriov_disable()`), a PF
//! driver unbound at the same time (sysfs `unbind`, `rmmod`, `sriov_numvfs=0`) holds
//! `device_lock(PF)` and waits for the rescan/remove lock in `sriov_del_vfs()`: an AB-BA cycle
//! that stock 7.3.4 does not have (its VF removal takes no lock, which is S6) and neither upstream
//! series closes ("concurrent unbind_store + hotplug-event remains a known limitation").
//!
//! The replacement does what `remove_store()` and the s390 removers of this patch do: every
//! device below the port is marked dead and its driver released first, with no rescan/remove lock
//! held (VFs first, then the PF, whose `.remove` removes its VFs under the lock, not nested), then
//! the 7.3.4 removal runs under the lock and finds no driver. `ctrl->reset_lock`, held for reading
//! by the caller, is dropped around each release, as 7.3.4 drops it around each removal.

use crate::remove;
use crate::{bindings_extra, rescan_lock::RescanRemoveLock};
use kernel::{
    bindings,
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

/// `ctrl->reset_lock` released for reading while `f` runs, and taken again at the caller's
/// nesting level (`ctrl->depth`), as 7.3.4 does around each removal.
///
/// # Safety
///
/// The current task holds `ctrl->reset_lock` for reading; `ctrl` is live.
unsafe fn without_reset_lock(ctrl: *mut bindings_extra::controller, f: impl FnOnce()) {
    // SAFETY: By the safety requirements.
    unsafe { bindings::up_read(&raw mut (*ctrl).reset_lock) };
    f();
    #[cfg(CONFIG_DEBUG_LOCK_ALLOC)]
    {
        // The port's nesting depth below other hot-plug ports: a lockdep subclass, below 8 (an
        // out-of-range value is passed on for lockdep to report, as C's conversion would).
        // SAFETY: `ctrl` is live.
        let depth = c_int::try_from(unsafe { (*ctrl).depth }).unwrap_or(c_int::MAX);
        // SAFETY: `ctrl` is live; the caller held the lock for reading at this depth.
        unsafe { bindings::down_read_nested(&raw mut (*ctrl).reset_lock, depth) };
    }
    #[cfg(not(CONFIG_DEBUG_LOCK_ALLOC))]
    // SAFETY: `ctrl` is live; the caller held the lock for reading.
    unsafe {
        bindings::down_read(&raw mut (*ctrl).reset_lock)
    };
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
    // SAFETY: `ctrl` is live; a hot-plug port has a subordinate bus while its controller is.
    let parent = unsafe { (*(*(*ctrl).pcie).port).subordinate };
    if !presence {
        // SAFETY: `parent` is live; the callback matches `pci_walk_bus()`'s.
        unsafe { bindings::pci_walk_bus(parent, Some(set_disconnected), core::ptr::null_mut()) };
    }

    // Drivers first, without the rescan/remove lock: highest devfn first, so a PF's VFs (and
    // other functions) go before function 0, as the removal's reverse walk does.
    for devfn in (0..DEVFNS).rev() {
        // SAFETY: `parent` is live; `pci_get_slot()` takes `pci_bus_sem` itself and returns a
        // reference, dropped below.
        let dev = unsafe { bindings::pci_get_slot(parent, devfn) };
        if dev.is_null() {
            continue;
        }
        // SAFETY: The caller holds `reset_lock` for reading; `dev` is held by the reference.
        unsafe {
            without_reset_lock(ctrl, || remove::kill_and_release_driver(dev));
            bindings::pci_dev_put(dev);
        }
    }

    // Then the 7.3.4 removal, under the lock: the drivers are gone, nobody waits for a device
    // lock here. Reverse walk: stopping a PF removes its VFs from the list (see 7.3.4's comment).
    let _rescan = RescanRemoveLock::lock();
    // SAFETY: `parent` is live; its device list changes only under the rescan/remove lock, held.
    let head = unsafe { &raw mut (*parent).devices };
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
}
