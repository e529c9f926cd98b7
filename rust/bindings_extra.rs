// SPDX-License-Identifier: GPL-2.0

//! Bindings for kernel items that `kernel::bindings` does not cover or keeps opaque.
//!
//! Generated at build time by `scripts/extra-bindgen.sh` from `bindings_extra.h`, with the
//! kernel's own bindgen command line; the item list is `bindings_extra.items`. The lints allowed
//! are those `rust/bindings/lib.rs` allows for the kernel crate's bindings (bitfield accessors).

#![allow(
    dead_code,
    non_camel_case_types,
    non_upper_case_globals,
    non_snake_case,
    unreachable_pub,
    missing_docs,
    improper_ctypes,
    clippy::all,
    clippy::as_underscore,
    clippy::cast_lossless,
    clippy::ptr_as_ptr,
    clippy::ref_as_ptr,
    clippy::undocumented_unsafe_blocks
)]

#[allow(unused_imports)]
use kernel::bindings::*;
#[allow(unused_imports)]
use kernel::ffi;
#[allow(unused_imports)]
use pin_init::MaybeZeroable;

include!(env!("ZR_BINDINGS_EXTRA"));
