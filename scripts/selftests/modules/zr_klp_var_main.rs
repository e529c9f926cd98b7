// SPDX-License-Identifier: GPL-2.0

//! Livepatch test: read non-exported vmlinux variables through converted relocations.
//!
//! `/proc/version` shows how many zPCI functions `zpci_list` (a static list of
//! arch/s390/pci/pci.c, under the static `zpci_list_lock`) holds; the test compares that with
//! sysfs.

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
    name: "zr_klp_var",
    authors: ["zpci-rrlock developers"],
    description: "klp-convert test: read static variables of vmlinux",
    license: "GPL",
}

extern "C" {
    static mut zpci_list: bindings::list_head;
    static mut zpci_list_lock: bindings::spinlock_t;
}

/// Counts the entries of `zpci_list`.
fn zpci_functions() -> usize {
    let head = &raw mut zpci_list;
    let lock = &raw mut zpci_list_lock;
    let mut n = 0;
    // SAFETY: `zpci_list_lock` is the spinlock that protects `zpci_list` in vmlinux; holding it,
    // the list is a valid circular list whose entries stay in place until it is released.
    unsafe {
        bindings::spin_lock(lock);
        let mut pos = (*head).next;
        while pos != head {
            n += 1;
            pos = (*pos).next;
        }
        bindings::spin_unlock(lock);
    }
    n
}

/// The replacement of `version_proc_show()`.
///
/// # Safety
///
/// `m` is the `seq_file` the seq_file core passes to a show callback.
#[no_mangle]
pub unsafe extern "C" fn zr_klp_var_version_show(
    m: *mut bindings::seq_file,
    _v: *mut c_void,
) -> c_int {
    // SAFETY: Called by the seq_file core with its `seq_file`, valid for the call.
    let seq = unsafe { SeqFile::from_raw(m) };
    seq_print!(
        seq,
        "zr_klp_var: zpci_list holds {} functions\n",
        zpci_functions()
    );
    0
}
