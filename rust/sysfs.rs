// SPDX-License-Identifier: GPL-2.0

//! The sysfs side of the replaced stores: the C entry point's conventions in one adapter, and a
//! store's kernfs active protection broken for as long as a guard lives.

use core::ptr::NonNull;
use kernel::{
    bindings,
    error::{
        from_result,
        to_result, //
    },
    prelude::*,
    types::NotThreadSafe, //
};

/// The return value of a sysfs store whose body is `f`: the number of bytes consumed, or a
/// negative errno (`kernel::error::from_result`).
pub(crate) fn store(f: impl FnOnce() -> Result<usize>) -> isize {
    from_result(|| isize::try_from(f()?).map_err(|_| EINVAL))
}

/// The unsigned integer a store was given (`kstrtoull(buf, 0, ...)`: decimal, `0x` hex or `0`
/// octal, one trailing newline allowed); `kstrtoull()`'s error otherwise (`EINVAL`, or `ERANGE`
/// for a value too large).
///
/// # Safety
///
/// `buf` is a NUL-terminated string (sysfs terminates a store's buffer).
pub(crate) unsafe fn parse_u64(buf: *const c_char) -> Result<u64> {
    let mut val: u64 = 0;
    // SAFETY: `buf` is NUL-terminated (safety requirements); `val` is a local.
    to_result(unsafe { bindings::kstrtoull(buf, 0, &mut val) })?;
    Ok(val)
}

/// As [`parse_u64`], for a value that must fit in 16 bits (`kstrtou16()`).
///
/// # Safety
///
/// As [`parse_u64`].
pub(crate) unsafe fn parse_u16(buf: *const c_char) -> Result<u16> {
    let mut val: u16 = 0;
    // SAFETY: As in `parse_u64`.
    to_result(unsafe { bindings::kstrtou16(buf, 0, &mut val) })?;
    Ok(val)
}

/// A sysfs store's active protection, broken while the value lives
/// (`sysfs_break_active_protection()`, restored with `sysfs_unbreak_active_protection()` on
/// drop).
///
/// A store holds an active reference on its attribute, which the removal of the attribute's
/// device drains (`kernfs_drain()` in `device_del()`). A store that waits for a lock a remover
/// holds while it drains would wait for its own drain; with the protection broken it holds no
/// active reference, and a reference on the device's kobject keeps the device alive instead.
/// Dropped on the task that broke it (lockdep tracks the active reference per task).
///
/// # Invariants
///
/// `kn` is the node a successful `sysfs_break_active_protection()` returned, not yet restored;
/// the break holds a reference on the device's kobject until then.
#[must_use = "the protection is restored when the value is dropped"]
pub(crate) struct ActiveProtectionBreak {
    kn: NonNull<bindings::kernfs_node>,
    _not_send: NotThreadSafe,
}

impl ActiveProtectionBreak {
    /// Breaks the protection of attribute `attr` of `dev`; `None` if the attribute is gone (its
    /// device is being removed).
    ///
    /// # Safety
    ///
    /// Called from the store of `attr` on `dev`, which are the store's own arguments.
    pub(crate) unsafe fn new(
        dev: *mut bindings::device,
        attr: *const bindings::device_attribute,
    ) -> Option<Self> {
        // SAFETY: `dev` and `attr` are a running store's device and descriptor (safety
        // requirements), live for the duration of the call.
        let kn = unsafe {
            bindings::sysfs_break_active_protection(&raw mut (*dev).kobj, &raw const (*attr).attr)
        };
        // INVARIANT: A non-null return is a broken protection, restored by `drop`.
        Some(Self {
            kn: NonNull::new(kn)?,
            _not_send: NotThreadSafe,
        })
    }
}

impl Drop for ActiveProtectionBreak {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the protection of `kn` is broken and not yet restored;
        // this restores it once and drops the kobject reference (possibly the device's last).
        unsafe { bindings::sysfs_unbreak_active_protection(self.kn.as_ptr()) };
    }
}
