// SPDX-License-Identifier: GPL-2.0

//! The C glue's side of the crate boundary (`zr_glue.c`, declared in `zr_glue.h`).
//!
//! `zr_glue.h` is read by the extra bindgen run (`bindings_extra.h`), so the symbols the glue
//! defines come from its declarations, not from a second copy here, and each Rust function the
//! glue calls or puts in its tables is checked against its declaration there
//! ([`c_prototype!`]).

#[cfg(CONFIG_HOTPLUG_PCI_PCIE)]
pub(crate) use crate::bindings_extra::zr_sizeof_controller;
pub(crate) use crate::bindings_extra::{
    zr_built_build_id,
    zr_built_release,
    zr_built_version,
    zr_enable_patch,
    zr_sizeof_pci_sriov,
    zr_vmlinux_funcs,
    zr_vmlinux_nfuncs,
    zr_vmlinux_sizes, //
};
#[cfg(CONFIG_S390)]
pub(crate) use crate::bindings_extra::{
    zr_lowcore_current_task,
    zr_sizeof_zpci_bus,
    zr_sizeof_zpci_dev, //
};

/// Checks at compile time that the `#[no_mangle] extern "C"` function `$name`, defined where
/// the macro is used, has the type of its prototype in `zr_glue.h`, through which the C glue
/// calls it or stores it (`klp_func::new_func` is a `void *`, which the C compiler cannot
/// check). The two arms of the `if` must coerce to one function pointer type: a parameter or a
/// return type that differs is a type error naming both. The kernel's `#[export]` does the same
/// against `kernel::bindings`.
macro_rules! c_prototype {
    ($name:ident) => {
        const _: () = {
            if true {
                $crate::bindings_extra::$name
            } else {
                $name
            };
        };
    };
}
pub(crate) use c_prototype;
