// SPDX-License-Identifier: GPL-2.0

//! PCI helpers shared by the removers: a counted device reference and the walk of the devices
//! below a bridge, in the order a removal releases their drivers.

use core::ptr::NonNull;
use kernel::{
    bindings,
    container_of,
    prelude::*, //
};

/// A reference on a `struct pci_dev`, dropped with the value (`pci_dev_put()`).
///
/// # Invariants
///
/// `self.0` points to a live `struct pci_dev` on which this value owns one reference.
pub(crate) struct DevRef(NonNull<bindings::pci_dev>);

impl DevRef {
    /// Takes a new reference on `pdev`.
    ///
    /// # Safety
    ///
    /// `pdev` points to a live `struct pci_dev` for the duration of the call.
    pub(crate) unsafe fn get(pdev: NonNull<bindings::pci_dev>) -> Self {
        // SAFETY: `pdev` is live (safety requirements); the reference taken here is the one the
        // value owns (type invariant).
        unsafe { bindings::pci_dev_get(pdev.as_ptr()) };
        Self(pdev)
    }

    /// The device, live as long as the value.
    pub(crate) fn as_ptr(&self) -> *mut bindings::pci_dev {
        self.0.as_ptr()
    }
}

impl Drop for DevRef {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the value owns one reference, given back here; this may
        // free the device.
        unsafe { bindings::pci_dev_put(self.0.as_ptr()) };
    }
}

/// Appends every device on `bus`, in list order, each with a reference, to `out`.
///
/// # Safety
///
/// `bus` is live and the caller holds the rescan/remove lock, under which its device list
/// changes.
unsafe fn push_bus(out: &mut KVec<DevRef>, bus: *mut bindings::pci_bus) -> Result {
    // SAFETY: `bus` is live (safety requirements).
    let head = unsafe { &raw mut (*bus).devices };
    // SAFETY: The list is stable under the rescan/remove lock; its entries are the `bus_list`
    // members of live devices.
    let mut pos = unsafe { (*head).next };
    while pos != head {
        // SAFETY: `pos` is the `bus_list` member of a device on the list, hence live.
        let dev = unsafe { container_of!(pos, bindings::pci_dev, bus_list) };
        // SAFETY: As above; a list entry is never null.
        let held = unsafe { DevRef::get(NonNull::new_unchecked(dev)) };
        out.push(held, GFP_KERNEL)?;
        // SAFETY: As above.
        pos = unsafe { (*pos).next };
    }
    Ok(())
}

/// Every device below `bridge` (on its subordinate bus and, recursively, below the bridges
/// there), each held, breadth first: walked in reverse, a bridge comes after everything below
/// it and a bus's devices come in reverse list order (a PF's VFs before the PF), the order in
/// which 7.3.4's `pci_stop_bus_device()` releases their drivers. Empty for a device that is no
/// bridge.
///
/// # Safety
///
/// `bridge` is live and the caller holds the rescan/remove lock, under which bus device lists
/// and `subordinate` pointers change.
pub(crate) unsafe fn devices_below(bridge: *mut bindings::pci_dev) -> Result<KVec<DevRef>> {
    let mut out = KVec::new();
    // SAFETY: `bridge` is live (safety requirements).
    let bus = unsafe { (*bridge).subordinate };
    if bus.is_null() {
        return Ok(out);
    }
    // SAFETY: The subordinate bus of a live bridge is live under the lock.
    unsafe { push_bus(&mut out, bus)? };
    let mut i = 0;
    while i < out.len() {
        // SAFETY: `out[i]` is held; the lock is held (safety requirements).
        let bus = unsafe { (*out[i].as_ptr()).subordinate };
        if !bus.is_null() {
            // SAFETY: As above.
            unsafe { push_bus(&mut out, bus)? };
        }
        i += 1;
    }
    Ok(out)
}
