// SPDX-License-Identifier: GPL-2.0

//! Shared by the klp-convert test modules (each includes it with `#[path]`): the module type,
//! whose loading enables the module's livepatch (tables in `zr_klp_test.h`).

use kernel::prelude::*;

extern "C" {
    /// `klp_enable_patch()` on the module's patch (zr_klp_test.h).
    fn zr_klp_enable() -> c_int;
}

/// A test livepatch module: loading it enables its patch; unloading needs the patch disabled.
pub(crate) struct KlpTest;

impl kernel::Module for KlpTest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // SAFETY: The glue's tables are static and name this module.
        kernel::error::to_result(unsafe { zr_klp_enable() })?;
        Ok(KlpTest)
    }
}
