// SPDX-License-Identifier: GPL-2.0

//! Load-time check that the kernel structures the crate reads through bindgen have the layout
//! the C compiler gave them.
//!
//! The extra bindings (`bindings_extra.rs`) are generated without recursion, so a member type
//! comes from the kernel crate's bindings, where a type that its headers only declare is an
//! opaque placeholder of the wrong size (`struct hotplug_slot` on x86_64, embedded in pciehp's
//! `struct controller`): every member after it would be read at a wrong offset. The C glue
//! records `sizeof` of each such structure; the module refuses to load if Rust disagrees.

use crate::{
    bindings_extra,
    c_glue, //
};
use kernel::prelude::*;

/// Compares one structure's size in Rust with C's `sizeof`; logs a mismatch.
fn same<T>(name: &str, c_size: usize) -> bool {
    let rust_size = core::mem::size_of::<T>();
    if rust_size != c_size {
        pr_err!(
            "refusing to load: struct {} is {} bytes to the C compiler, {} in the Rust bindings\n",
            name,
            c_size,
            rust_size
        );
    }
    rust_size == c_size
}

/// Checks every structure the crate reads through bindgen.
pub(crate) fn check() -> Result {
    // SAFETY: Constants of the C glue.
    let mut ok =
        same::<bindings_extra::pci_sriov>("pci_sriov", unsafe { c_glue::zr_sizeof_pci_sriov });
    #[cfg(CONFIG_HOTPLUG_PCI_PCIE)]
    {
        // SAFETY: As above.
        let c = unsafe { c_glue::zr_sizeof_controller };
        ok &= same::<bindings_extra::controller>("controller", c);
    }
    #[cfg(CONFIG_S390)]
    {
        // SAFETY: As above.
        let (dev, bus) = unsafe { (c_glue::zr_sizeof_zpci_dev, c_glue::zr_sizeof_zpci_bus) };
        ok &= same::<kernel::bindings::zpci_dev>("zpci_dev", dev);
        ok &= same::<kernel::bindings::zpci_bus>("zpci_bus", bus);
    }
    if ok {
        Ok(())
    } else {
        Err(EINVAL)
    }
}
