// SPDX-License-Identifier: GPL-2.0

//! Symbols provided by the C glue (`zr_glue.c`, declared in `zr_glue.h`).

use kernel::prelude::*;

extern "C" {
    /// `UTS_RELEASE` of the kernel tree the module was compiled against.
    pub(crate) static zr_built_release: *const c_char;
    /// `UTS_VERSION` (build counter and link time) of that tree's vmlinux.
    pub(crate) static zr_built_version: *const c_char;
    /// GNU build-id of that tree's vmlinux, as lowercase hex.
    pub(crate) static zr_built_build_id: *const c_char;
}
