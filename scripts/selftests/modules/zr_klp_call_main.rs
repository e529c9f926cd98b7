// SPDX-License-Identifier: GPL-2.0

//! Livepatch test: call a non-exported static function of vmlinux through a converted
//! relocation.
//!
//! `/proc/version` lists every PCI function with the vendor and device ID that the static
//! `pci_read()` of arch/s390/pci/pci.c reads from its config space; the test compares them
//! with sysfs.

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
    name: "zr_klp_call",
    authors: ["zpci-rrlock developers"],
    description: "klp-convert test: call a static function of vmlinux",
    license: "GPL",
}

// `struct pci_bus` reaches an opaque type of the bindings; only pointers cross here.
#[allow(improper_ctypes)]
extern "C" {
    fn pci_read(
        bus: *mut bindings::pci_bus,
        devfn: c_uint,
        at: c_int,
        size: c_int,
        val: *mut u32,
    ) -> c_int;
}

const PCI_ANY_ID: c_uint = !0;

/// The replacement of `version_proc_show()`.
///
/// # Safety
///
/// `m` is the `seq_file` the seq_file core passes to a show callback.
#[no_mangle]
pub unsafe extern "C" fn zr_klp_call_version_show(
    m: *mut bindings::seq_file,
    _v: *mut c_void,
) -> c_int {
    // SAFETY: Called by the seq_file core with its `seq_file`, valid for the call.
    let seq = unsafe { SeqFile::from_raw(m) };
    let mut dev: *mut bindings::pci_dev = core::ptr::null_mut();
    loop {
        // SAFETY: `pci_get_device()` drops the reference on `dev` (or takes NULL) and returns
        // the next device with a reference held, or NULL at the end.
        dev = unsafe { bindings::pci_get_device(PCI_ANY_ID, PCI_ANY_ID, dev) };
        if dev.is_null() {
            break;
        }
        let mut id: u32 = 0;
        // SAFETY: `dev` is a referenced pci_dev, so its bus is alive; `pci_read()` reads
        // config space of function `devfn` on that zPCI bus into `id`.
        let (rc, domain, busnr, devfn) = unsafe {
            let bus = (*dev).bus;
            (
                pci_read(bus, (*dev).devfn, 0, 4, &mut id),
                bindings::pci_domain_nr(bus),
                (*bus).number,
                (*dev).devfn,
            )
        };
        seq_print!(
            seq,
            "zr_klp_call: {:04x}:{:02x}:{:02x}.{} rc={} 0x{:04x}:0x{:04x}\n",
            domain,
            busnr,
            devfn >> 3,
            devfn & 7,
            rc,
            id & 0xffff,
            id >> 16
        );
    }
    0
}
