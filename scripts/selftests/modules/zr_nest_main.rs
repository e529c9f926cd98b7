// SPDX-License-Identifier: GPL-2.0

//! Nesting test: takes the PCI rescan/remove lock `depth` times through the exported
//! `pci_lock_rescan_remove()`, as code that already holds it and calls into code that takes it
//! again does, checking at every level that lockdep sees the lock held by this task.
//!
//! On the stock kernel the second acquisition deadlocks (lockdep reports "possible recursive
//! locking", then the hung-task detector fires): this is the stock result the test expects, in a
//! boot of its own. With the zpci_rrlock livepatch enabled the module loads and prints
//! "zr_nest: nested N deep". With `hold_ms` it holds the lock that long at the deepest level
//! first: a gate that lets a test queue other tasks on the lock in a chosen order.

use kernel::{
    bindings,
    prelude::*, //
};

module! {
    type: ZrNest,
    name: "zr_nest",
    authors: ["zpci-rrlock developers"],
    description: "Takes the PCI rescan/remove lock nested",
    license: "GPL",
    params: {
        depth: u32 {
            default: 5,
            description: "How many times to take the lock (1..=64)",
        },
        hold_ms: u32 {
            default: 0,
            description: "How long to hold it at the deepest level, in ms (0..=60000): a gate for tests that queue other tasks on the lock",
        },
    },
}

#[cfg(CONFIG_LOCKDEP)]
extern "C" {
    /// `pci_rescan_remove_lock` of vmlinux, through a livepatch relocation (klp-convert).
    static mut pci_rescan_remove_lock: bindings::mutex;
}

/// Whether lockdep records the lock as held by the current task (1), not (0), or cannot tell
/// (lockdep off: -1).
#[cfg(CONFIG_LOCKDEP)]
fn held() -> c_int {
    // SAFETY: `dep_map` of a valid static mutex; lock_is_held_type() only reads.
    unsafe { bindings::lock_is_held_type(&raw const pci_rescan_remove_lock.dep_map, -1) }
}

/// Without lockdep nothing records who holds the lock.
#[cfg(not(CONFIG_LOCKDEP))]
fn held() -> c_int {
    -1
}

struct ZrNest;

impl kernel::Module for ZrNest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let depth = module_parameters::depth.value();
        if !(1..=64).contains(&depth) {
            pr_err!("depth={} out of range (1..=64)\n", depth);
            return Err(EINVAL);
        }
        let hold_ms = module_parameters::hold_ms.value();
        if hold_ms > 60000 {
            pr_err!("hold_ms={} out of range (0..=60000)\n", hold_ms);
            return Err(EINVAL);
        }
        let mut ok = true;
        for level in 1..=depth {
            pr_info!("taking the rescan/remove lock, level {}\n", level);
            // SAFETY: Process context; released below, once per acquisition.
            unsafe { bindings::pci_lock_rescan_remove() };
            if held() == 0 {
                pr_err!("lockdep does not see the lock held at level {}\n", level);
                ok = false;
            }
        }
        if hold_ms > 0 {
            pr_info!("holding the lock for {} ms\n", hold_ms);
            // SAFETY: Process context; sleeping with a mutex held is allowed.
            unsafe { bindings::msleep(hold_ms) };
        }
        for _ in 0..depth {
            // SAFETY: Pairs with an acquisition above, on this task.
            unsafe { bindings::pci_unlock_rescan_remove() };
        }
        if held() == 1 {
            pr_err!("lock still held after {} releases\n", depth);
            ok = false;
        }
        if !ok {
            return Err(EIO);
        }
        if held() < 0 {
            pr_info!(
                "nested {} deep, without lockdep to ask who holds it\n",
                depth
            );
        } else {
            pr_info!(
                "nested {} deep, lockdep saw the lock held at every level\n",
                depth
            );
        }
        Ok(ZrNest)
    }
}
