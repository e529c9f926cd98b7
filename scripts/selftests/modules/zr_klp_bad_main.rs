// SPDX-License-Identifier: GPL-2.0

//! Livepatch test: a livepatch symbol that the running kernel does not have.
//!
//! Built with `klp-convert --unchecked-sym zr_klp_no_such_symbol,0`, so the module carries a
//! `.klp.sym.vmlinux.zr_klp_no_such_symbol,0` that the livepatch core cannot resolve: loading
//! must fail with -EINVAL and a dmesg line, and leave nothing behind.

use kernel::{
    bindings,
    prelude::*,
    seq_file::SeqFile,
    seq_print, //
};

#[path = "zr_klp_test.rs"]
mod klp_test;

module! {
    type: klp_test::KlpTest,
    name: "zr_klp_bad",
    authors: ["zpci-rrlock developers"],
    description: "klp-convert test: an unresolvable livepatch symbol",
    license: "GPL",
}

extern "C" {
    static zr_klp_no_such_symbol: u32;
}

/// The replacement of `version_proc_show()` (never reached: the module does not load).
///
/// # Safety
///
/// `m` is the `seq_file` the seq_file core passes to a show callback.
#[no_mangle]
pub unsafe extern "C" fn zr_klp_bad_version_show(
    m: *mut bindings::seq_file,
    _v: *mut c_void,
) -> c_int {
    // SAFETY: Called by the seq_file core with its `seq_file`, valid for the call.
    let seq = unsafe { SeqFile::from_raw(m) };
    // SAFETY: Would be a u32 of vmlinux if the symbol existed; the module cannot load without it.
    let v = unsafe { core::ptr::read_volatile(&raw const zr_klp_no_such_symbol) };
    seq_print!(seq, "zr_klp_bad: {}\n", v);
    0
}
