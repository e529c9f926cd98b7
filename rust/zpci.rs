// SPDX-License-Identifier: GPL-2.0

//! s390 zPCI functions and their locks, in the order the fix requires (arch/s390/pci).
//!
//! In 7.3.4 the last reference to a zPCI function (`struct zpci_dev`) is dropped in
//! `zpci_zdev_put()`, which holds `zpci_add_remove_lock` while `zpci_release_device()` tears the
//! function down, and that teardown takes the rescan/remove lock (`zpci_cleanup_bus_resources()`,
//! and `zpci_bus_release()` for the function's bus). The same final put also happens with the
//! rescan/remove lock already held: a `pci_dev`'s last `put_device()` inside a removal reaches
//! `pcibios_release_device()` → `zpci_zdev_put()`. The two orders close the AB-BA cycle of the
//! reference's S1 (lockdep: "possible circular locking dependency"), and the nested case
//! self-deadlocks on a plain mutex (S2).
//!
//! The fix (Benjamin Block's "s390/pci: Fix deadlocks on s390 when releasing zPCI-bus or -device
//! objects", ported to 7.3.4) orders the locks
//!
//! ```text
//! zdev->state_lock → pci_rescan_remove_lock → zpci_add_remove_lock → zpci_list_lock / zbus_list_lock
//! ```
//!
//! Block hoists the rescan/remove lock into every caller that can drop the last reference. With
//! the reentrant lock the same order is reached by taking it in the two functions that take
//! `zpci_add_remove_lock`, before that lock ([`zr_zpci_zdev_put`], [`zr_zpci_add_device`]): the
//! acquisitions inside the release paths (`zpci_cleanup_bus_resources()`, `zpci_bus_release()`,
//! reached only under `zpci_add_remove_lock` or from the bus iterator, which holds nothing) then
//! nest and never wait. Their callers — the availability and error event handlers, the bus
//! iterator, `zpci_release_device()` — need no change; Documentation/zpci-release.rst lists each
//! call site and why.
//!
//! The types of [`locks`] encode the order: an [`AddRemoveGuard`] can only be made from a
//! borrowed [`RescanRemoveGuard`], so `zpci_add_remove_lock` is never taken without the
//! rescan/remove lock and is released before it; `zpci_list_lock` is only reached through an
//! [`AddRemoveGuard`]. `zdev->state_lock`, ordered before both, is a [`StateGuard`]; taking it
//! under the rescan/remove lock cannot be ruled out by types (nothing proves a lock is *not*
//! held) and is left to lockdep.
//!
//! [`AddRemoveGuard`]: locks::AddRemoveGuard
//! [`StateGuard`]: locks::StateGuard
//! [`RescanRemoveGuard`]: crate::rescan_lock::RescanRemoveGuard

use kernel::bindings;

// Static data of arch/s390/pci/pci.c, not exported: reached through livepatch relocations
// (tools/klp-convert). Declarations of the symbols only; their types come from the bindings.
extern "C" {
    /// Serialises `zpci_add_device()` against the final release of a function.
    static mut zpci_add_remove_lock: bindings::mutex;
    /// Protects `zpci_list` and the last-reference transition of `zpci_dev::kref`.
    static mut zpci_list_lock: bindings::spinlock_t;
    /// All zPCI functions known to the kernel.
    static mut zpci_list: bindings::list_head;
    /// The config-space accessors of every zPCI root bus.
    static mut pci_root_ops: bindings::pci_ops;
}

/// `zpci_dbg()` of arch/s390/include/asm/pci_debug.h: an entry in the s390 debug feature
/// `pci_msg` at `level`, if that level is enabled. The arguments are passed as `long`, as
/// `__debug_sprintf_event()` reads them.
macro_rules! zpci_dbg {
    ($level:expr, $fmt:expr $(, $arg:expr)* $(,)?) => {{
        // SAFETY: `pci_debug_msg_id` is set once at boot (null if the debug feature failed to
        // register) and never freed while PCI is up.
        let id = unsafe { kernel::bindings::pci_debug_msg_id };
        let level: kernel::ffi::c_int = $level;
        // SAFETY: A non-null `id` is a registered debug feature.
        if !id.is_null() && level <= unsafe { (*id).level } {
            // SAFETY: `fmt` is a NUL-terminated format whose conversions match the arguments,
            // all `long`; the debug feature copies them.
            unsafe {
                kernel::bindings::__debug_sprintf_event(
                    id,
                    level,
                    $fmt.as_char_ptr().cast_mut(),
                    $($arg as kernel::ffi::c_long),*
                )
            };
        }
    }};
}

mod hotplug;
mod lifecycle;
mod locks;
mod recover;
mod zdev;
