// SPDX-License-Identifier: GPL-2.0

//! Livepatch of two vmlinux functions that do nothing, `pcibios_sriov_enable()` and
//! `pcibios_sriov_disable()` (the weak defaults of drivers/pci/iov.c on s390x and x86_64), by
//! replacements that do nothing either: calling them costs a function call plus the livepatch
//! redirect, which zr_bench measures.

use kernel::prelude::*;

module! {
    type: ZrBenchRedirect,
    name: "zr_bench_redirect",
    authors: ["zpci-rrlock developers"],
    description: "No-op livepatch that measures the livepatch redirect (zr_bench)",
    license: "GPL",
}

extern "C" {
    fn zr_bench_redirect_enable() -> c_int;
}

/// Replacement of `int pcibios_sriov_enable(struct pci_dev *pdev, u16 num_vfs)`.
#[no_mangle]
extern "C" fn zr_bench_sriov_enable(_pdev: *mut c_void, _num_vfs: u16) -> c_int {
    0
}

/// Replacement of `int pcibios_sriov_disable(struct pci_dev *pdev)`.
#[no_mangle]
extern "C" fn zr_bench_sriov_disable(_pdev: *mut c_void) -> c_int {
    0
}

struct ZrBenchRedirect;

impl kernel::Module for ZrBenchRedirect {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // SAFETY: The glue's patch is static and names this module.
        kernel::error::to_result(unsafe { zr_bench_redirect_enable() })?;
        Ok(ZrBenchRedirect)
    }
}
