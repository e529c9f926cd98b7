// SPDX-License-Identifier: GPL-2.0

//! A zPCI function (`struct zpci_dev`) as the replacements see it: its bus, its `pci_dev`, its
//! state lock and its reference count.

use super::locks::{
    AddRemoveGuard,
    StateGuard, //
};
use crate::bindings_extra;
use core::ptr::NonNull;
use kernel::bindings;

/// A zPCI function.
///
/// # Invariants
///
/// `ptr` points to a live `struct zpci_dev` that stays live while the value exists: the caller of
/// the replaced function holds a reference to it (its kref, or a `pci_dev` that holds one), or
/// the value owns one the replacement took, which [`Zdev::put`] drops with the value.
pub(crate) struct Zdev {
    ptr: NonNull<bindings::zpci_dev>,
}

impl Zdev {
    /// # Safety
    ///
    /// `ptr` is null or a live `struct zpci_dev` kept alive as the type invariant requires.
    pub(super) unsafe fn from_raw(ptr: *mut bindings::zpci_dev) -> Option<Self> {
        // INVARIANT: By the safety requirements.
        NonNull::new(ptr).map(|ptr| Zdev { ptr })
    }

    /// The function of a zPCI `pci_dev` (`to_zpci()`).
    ///
    /// # Safety
    ///
    /// `pdev` is a live `pci_dev` on a zPCI bus, held by the caller while the value is used.
    pub(super) unsafe fn of_pci_dev(pdev: *mut bindings::pci_dev) -> Option<Self> {
        // SAFETY: On s390 a pci_dev's `sysdata` is its `struct zpci_bus`, which holds one
        // reference per function it lists, so the function outlives the pci_dev.
        unsafe {
            let zbus = (*pdev).sysdata.cast::<bindings::zpci_bus>();
            let devfn = (*pdev).devfn as usize;
            Self::from_raw(
                (*zbus)
                    .function
                    .get(devfn)
                    .copied()
                    .unwrap_or(core::ptr::null_mut()),
            )
        }
    }

    pub(super) fn as_ptr(&self) -> *mut bindings::zpci_dev {
        self.ptr.as_ptr()
    }

    /// The function's bus (`zdev->zbus`), set for the function's lifetime.
    pub(super) fn zbus(&self) -> *mut bindings::zpci_bus {
        // SAFETY: The function is live (type invariant).
        unsafe { (*self.as_ptr()).zbus }
    }

    /// The function's `pci_bus`, or null before its bus is scanned.
    pub(super) fn pci_bus(&self) -> *mut bindings::pci_bus {
        // SAFETY: `zbus` is live while one of its functions is.
        unsafe { (*self.zbus()).bus }
    }

    /// The function's `pci_dev` with a reference the caller drops (`pci_dev_put()`), or null if
    /// its bus is not scanned yet or the device is not on it.
    pub(super) fn get_pci_dev(&self) -> *mut bindings::pci_dev {
        let bus = self.pci_bus();
        if bus.is_null() {
            return core::ptr::null_mut();
        }
        // SAFETY: `bus` is the function's live root bus; `devfn` is its slot on it.
        unsafe { bindings::pci_get_slot(bus, (*self.as_ptr()).devfn) }
    }

    /// Whether the function is enabled (`zdev_enabled()`: bit 0 of the function handle).
    pub(super) fn enabled(&self) -> bool {
        // SAFETY: The function is live; `fh` is a plain word the platform code updates.
        let fh = unsafe { core::ptr::read_volatile(&raw const (*self.as_ptr()).fh) };
        fh & (1 << 31) != 0
    }

    /// Takes `zdev->state_lock`, the outermost lock of the order.
    pub(super) fn lock_state(&self) -> StateGuard<'_> {
        StateGuard::lock(self)
    }

    /// Drops one reference (`kref_put_lock(&zdev->kref, zpci_release_device, &zpci_list_lock)`):
    /// the last one releases the function, which `zpci_release_device()` does with
    /// `zpci_list_lock` held on entry (it unlinks the function and drops that lock first).
    pub(super) fn put(self, _ar: &AddRemoveGuard<'_>) {
        let z = self.as_ptr();
        // SAFETY: The function is live and the caller's reference is the one dropped here;
        // `zpci_list_lock` is a valid spinlock, held on a `true` return.
        if unsafe {
            bindings::refcount_dec_and_lock(
                &raw mut (*z).kref.refcount,
                &raw mut super::zpci_list_lock,
            )
        } {
            // SAFETY: Last reference, `zpci_list_lock` and (by `_ar`) `zpci_add_remove_lock`
            // held, as `zpci_release_device()` requires; it releases the list lock and frees
            // the function.
            unsafe { bindings_extra::zpci_release_device(&raw mut (*z).kref) };
        }
    }
}
