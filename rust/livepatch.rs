// SPDX-License-Identifier: GPL-2.0

//! Enabling the livepatch, after checking that every function it replaces is the one the
//! replacement was written for.
//!
//! A livepatch replacement is a copy of the original with changes; applied to a different
//! original it silently reverts whatever changed there. The module already refuses any kernel
//! build but its own (see [`crate::identity`]); in addition, before the patch is enabled, each
//! replaced function's size in the running kernel (kallsyms) must equal its size in the vmlinux
//! the module was compiled against (recorded by Kbuild in `zr_expected.h`).
//!
//! # Unpatching
//!
//! Disabling the patch hands `pci_lock_rescan_remove()` back to the plain mutex. That is safe for
//! a task at depth 0 (holding the lock once or not at all: the old and new functions agree) and
//! unsafe for a task nested inside the lock, whose extra releases would then unlock the mutex
//! early. The livepatch core offers no veto, so the rule is enforced by its consistency model:
//! a task switches to the unpatched functions only when no replaced function is on its stack,
//! and every function that takes the lock nested is replaced by this patch. See
//! Documentation/rescan-lock.rst. `zr_pre_unpatch` logs the depth when the transition starts.

use crate::{
    bindings_extra,
    c_glue,
    rescan_lock::RescanRemoveLock, //
};
use kernel::{
    bindings,
    prelude::*, //
};

/// Compares each replaced function's size in the running kernel with the build-time one.
fn check_functions() -> Result {
    // SAFETY: `zr_vmlinux_nfuncs` is a constant of the glue.
    let n = unsafe { c_glue::zr_vmlinux_nfuncs } as usize;
    let funcs = &raw const c_glue::zr_vmlinux_funcs;
    let sizes = &raw const c_glue::zr_vmlinux_sizes;
    let mut bad = 0;
    for i in 0..n {
        // SAFETY: The glue's arrays hold `n` entries (checked by a static_assert there); the
        // entries are constant until the patch is enabled.
        let (name, want) = unsafe {
            let f: *const bindings_extra::klp_func =
                funcs.cast::<bindings_extra::klp_func>().add(i);
            ((*f).old_name, *sizes.cast::<c_ulong>().add(i))
        };
        // SAFETY: `name` is a string literal of the glue.
        let sname = unsafe { CStr::from_char_ptr(name) }.to_str().unwrap_or("?");
        // SAFETY: `name` is NUL-terminated; kallsyms lookups are safe in process context.
        let addr = unsafe { bindings::kallsyms_lookup_name(name) };
        let mut size: c_ulong = 0;
        let mut offset: c_ulong = 0;
        // SAFETY: Valid pointers to locals.
        let found = addr != 0
            && unsafe { bindings::kallsyms_lookup_size_offset(addr, &mut size, &mut offset) } != 0;
        if !found {
            pr_err!(
                "refusing to patch: {} not found in the running kernel\n",
                sname
            );
            bad += 1;
        } else if size != want || offset != 0 {
            pr_err!(
                "refusing to patch: {} is {} bytes in the running kernel, {} in the vmlinux this patch was written for\n",
                sname,
                size,
                want
            );
            bad += 1;
        }
    }
    if bad > 0 {
        return Err(EINVAL);
    }
    Ok(())
}

/// Checks the replaced functions, then enables the livepatch.
pub(crate) fn enable() -> Result {
    check_functions()?;
    // SAFETY: The glue's patch is static and names this module.
    kernel::error::to_result(unsafe { c_glue::zr_enable_patch() })
}

/// `pre_unpatch` callback of the vmlinux object: reports where the lock stands.
///
/// # Safety
///
/// Called by the livepatch core only, as the callback of the patch's vmlinux object (`_obj`
/// is not used).
#[no_mangle]
pub(crate) unsafe extern "C" fn zr_pre_unpatch(_obj: *mut bindings_extra::klp_object) {
    let owner = RescanRemoveLock::owner();
    if owner.is_null() {
        pr_info!("unpatching: rescan/remove lock free\n");
    } else {
        pr_info!("unpatching: rescan/remove lock held; a nested holder finishes on the patched functions\n");
    }
}
crate::c_glue::c_prototype!(zr_pre_unpatch);
