// SPDX-License-Identifier: GPL-2.0

//! Symbols provided by the C glue (`zr_glue.c`, declared in `zr_glue.h`).

use crate::bindings_extra;
use kernel::prelude::*;

extern "C" {
    /// `UTS_RELEASE` of the kernel tree the module was compiled against.
    pub(crate) static zr_built_release: *const c_char;
    /// `UTS_VERSION` (build counter and link time) of that tree's vmlinux.
    pub(crate) static zr_built_version: *const c_char;
    /// GNU build-id of that tree's vmlinux, as lowercase hex.
    pub(crate) static zr_built_build_id: *const c_char;
    /// The vmlinux functions the livepatch replaces (`zr_vmlinux_nfuncs` entries and a
    /// terminator).
    pub(crate) static zr_vmlinux_funcs: [bindings_extra::klp_func; 0];
    /// The size each of them had in the vmlinux the module was compiled against.
    pub(crate) static zr_vmlinux_sizes: [c_ulong; 0];
    /// Number of entries of the two arrays above.
    pub(crate) static zr_vmlinux_nfuncs: c_uint;
    /// `klp_enable_patch()` on the module's patch.
    pub(crate) fn zr_enable_patch() -> c_int;
    /// The address of `current_task` in the lowcore, the same on every CPU.
    #[cfg(CONFIG_S390)]
    pub(crate) fn zr_lowcore_current_task() -> *const u64;
}
