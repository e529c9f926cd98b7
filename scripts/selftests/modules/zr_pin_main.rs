// SPDX-License-Identifier: GPL-2.0

//! S2 test: pins a PCI function, as a driver that keeps a `pci_dev` it looked up, and drops the
//! reference at unload with the PCI rescan/remove lock held, as a driver's `.remove` does under
//! `remove_store()` or a hot-unplug.
//!
//! On s390 a `pci_dev` holds a reference on its `zpci_dev`. If the platform has removed and
//! reserved the function meanwhile (hard deconfigure 0x0304, reserve 0x0308), the pin is the
//! last reference of both: the put releases the `zpci_dev`, and `zpci_release_device()` takes
//! the rescan/remove lock again (`zpci_cleanup_bus_resources()`, `zpci_bus_release()`). On the
//! stock kernel that is a self-deadlock (lockdep: "possible recursive locking"; rmmod hangs);
//! with the zpci_rrlock livepatch the lock nests and rmmod prints "zr_pin: released".

use core::ptr::NonNull;
use kernel::{
    bindings,
    pci,
    prelude::*,
    sync::aref::ARef,
    types::NotThreadSafe, //
};

module! {
    type: ZrPin,
    name: "zr_pin",
    authors: ["zpci-rrlock developers"],
    description: "Holds a pci_dev reference, dropped under the PCI rescan/remove lock",
    license: "GPL",
    params: {
        domain: u32 {
            default: u32::MAX,
            description: "PCI domain of the function to pin (0..=0xffff, required)",
        },
        bus: u32 {
            default: 0,
            description: "PCI bus number (0..=255)",
        },
        devfn: u32 {
            default: 0,
            description: "PCI device and function number (0..=255)",
        },
    },
}

/// The PCI rescan/remove lock, taken through the exported `pci_lock_rescan_remove()` (the
/// function the livepatch replaces), held until the guard is dropped.
///
/// # Invariants
///
/// The current task holds the lock: the guard is made only by [`RescanRemoveGuard::lock`]
/// (its field is private) and cannot move to another task (`NotThreadSafe`).
struct RescanRemoveGuard {
    _not_send: NotThreadSafe,
}

impl RescanRemoveGuard {
    fn lock() -> Self {
        // SAFETY: Process context (module init/exit); released exactly once, in `drop`.
        unsafe { bindings::pci_lock_rescan_remove() };
        // INVARIANT: Just taken by this task.
        Self {
            _not_send: NotThreadSafe,
        }
    }
}

impl Drop for RescanRemoveGuard {
    fn drop(&mut self) {
        // SAFETY: By the type invariant this task holds the lock.
        unsafe { bindings::pci_unlock_rescan_remove() };
    }
}

/// # Invariants
///
/// `pin` holds a counted reference on the function the module parameters name, taken at load;
/// it is `None` only while the module is dropped.
struct ZrPin {
    pin: Option<ARef<pci::Device>>,
}

impl kernel::Module for ZrPin {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let (domain, bus, devfn) = (
            module_parameters::domain.value(),
            module_parameters::bus.value(),
            module_parameters::devfn.value(),
        );
        if domain > 0xffff || bus > 0xff || devfn > 0xff {
            pr_err!(
                "domain={:#x} bus={:#x} devfn={:#x}: give domain 0..=0xffff, bus and devfn 0..=0xff\n",
                domain,
                bus,
                devfn
            );
            return Err(EINVAL);
        }
        // SAFETY: Any values are valid; the function returns a counted reference or NULL. The
        // casts are lossless: all three are range-checked above.
        let raw = unsafe { bindings::pci_get_domain_bus_and_slot(domain as c_int, bus, devfn) };
        let Some(raw) = NonNull::new(raw) else {
            pr_err!(
                "no PCI function {:04x}:{:02x}:{:02x}.{}\n",
                domain,
                bus,
                devfn >> 3,
                devfn & 7
            );
            return Err(ENODEV);
        };
        // SAFETY: `pci::Device` is a transparent wrapper of `struct pci_dev`, and `raw` carries
        // the reference pci_get_domain_bus_and_slot() took, which the `ARef` now owns.
        let pin = unsafe { ARef::from_raw(raw.cast::<pci::Device>()) };
        pr_info!(
            "pinned {:04x}:{:02x}:{:02x}.{}\n",
            domain,
            bus,
            devfn >> 3,
            devfn & 7
        );
        Ok(ZrPin { pin: Some(pin) })
    }
}

impl Drop for ZrPin {
    fn drop(&mut self) {
        pr_info!("dropping the pin under the rescan/remove lock\n");
        {
            let _guard = RescanRemoveGuard::lock();
            drop(self.pin.take());
        }
        pr_info!("released\n");
    }
}
