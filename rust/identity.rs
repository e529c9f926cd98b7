// SPDX-License-Identifier: GPL-2.0

//! Identity of the kernel build the module was compiled against.
//!
//! A livepatch replaces functions by their exact compiled form, so it may only run on the very
//! kernel build it was compiled against, not merely on the same release. The identity compared
//! is `UTS_RELEASE` plus `UTS_VERSION`: the latter carries the build counter and the link time of
//! that vmlinux, so it differs between two builds of the same source. The vmlinux build-id is
//! reported alongside, to name the build in logs.

use crate::{
    bindings_extra,
    c_glue, //
};
use kernel::prelude::*;

/// The identity strings of one kernel build.
pub(crate) struct Identity {
    /// `UTS_RELEASE`, e.g. `7.3.4-zpci-rrlock`.
    pub(crate) release: &'static CStr,
    /// `UTS_VERSION`, e.g. `#1 SMP Mon Nov 23 22:59:01 UTC 2026`.
    pub(crate) version: &'static CStr,
}

impl Identity {
    /// The build this module was compiled against.
    pub(crate) fn built() -> Self {
        // SAFETY: The glue defines both as pointers to NUL-terminated string literals, which
        // live as long as the module and are never written.
        unsafe {
            Self {
                release: CStr::from_char_ptr(c_glue::zr_built_release),
                version: CStr::from_char_ptr(c_glue::zr_built_version),
            }
        }
    }

    /// The running kernel, as `init_uts_ns` describes it.
    pub(crate) fn running() -> Self {
        let ns = &raw const bindings_extra::init_uts_ns;
        // SAFETY: `init_uts_ns` is a static of vmlinux; its `release` and `version` fields are
        // NUL-terminated arrays set at build time and never written afterwards (only the
        // nodename and domainname of a namespace can change).
        unsafe {
            Self {
                release: CStr::from_char_ptr((*ns).name.release.as_ptr()),
                version: CStr::from_char_ptr((*ns).name.version.as_ptr()),
            }
        }
    }

    /// Whether two identities name the same kernel build.
    pub(crate) fn same_build(&self, other: &Self) -> bool {
        self.release == other.release && self.version == other.version
    }
}

/// The vmlinux build-id the module was compiled against (hex, for the log).
pub(crate) fn built_build_id() -> &'static CStr {
    // SAFETY: Defined by the glue as a pointer to a NUL-terminated string literal.
    unsafe { CStr::from_char_ptr(c_glue::zr_built_build_id) }
}

/// Logs which kernel build the module was compiled against and refuses a different one.
pub(crate) fn check() -> Result {
    let built = Identity::built();
    let running = Identity::running();
    pr_info!(
        "built against {} ({}), vmlinux build-id {}\n",
        built.release.to_str().unwrap_or("?"),
        built.version.to_str().unwrap_or("?"),
        built_build_id().to_str().unwrap_or("?")
    );
    if !built.same_build(&running) {
        pr_err!(
            "refusing to load: running kernel {} ({}) is not the build this module was compiled against\n",
            running.release.to_str().unwrap_or("?"),
            running.version.to_str().unwrap_or("?")
        );
        return Err(EINVAL);
    }
    Ok(())
}
