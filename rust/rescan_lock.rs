// SPDX-License-Identifier: GPL-2.0

//! A reentrant view of the PCI core's rescan/remove lock.
//!
//! The PCI core serialises hot-plug, rescan and removal with one mutex,
//! `pci_rescan_remove_lock` (`drivers/pci/probe.c`), taken through `pci_lock_rescan_remove()`.
//! Paths that already hold it reach code that takes it again (a driver's `.remove` disabling
//! SR-IOV under the sysfs `remove`, the s390 zPCI release under a rescan), and a plain mutex
//! deadlocks there. This module makes the lock reentrant without changing it: the kernel's own
//! mutex stays the lock, and a depth counter counts the nested acquisitions of its owner.
//!
//! * The owner is read back from the mutex itself (its `owner` word), never from a variable of
//!   ours. A task that took the lock through the unpatched `pci_lock_rescan_remove()` before the
//!   livepatch switched it over is therefore still recognised as the owner, and its nested
//!   acquisition counts instead of deadlocking.
//! * Only the outermost acquisition and release touch the mutex, so lockdep sees exactly one
//!   acquisition and `lockdep_assert_held(&pci_rescan_remove_lock)` holds at any depth.
//! * Process context only, as for any mutex.
//!
//! Rust code takes the lock only through [`RescanRemoveLock::lock`], whose guard is `!Send`,
//! `#[must_use]` and gives access to nothing, so nested guards cannot alias. C code reaches the
//! same logic through the livepatch replacements of `pci_lock_rescan_remove()` and
//! `pci_unlock_rescan_remove()` at the end of this file.

use crate::bindings_extra;
use core::cell::UnsafeCell;
use kernel::{
    bindings,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
    task::Task,
    types::NotThreadSafe, //
};

/// Flag bits in the low bits of `mutex::owner` (`MUTEX_FLAGS`, kernel/locking/mutex.h).
const MUTEX_FLAGS: i64 = 0x07;

/// The owner's state: its nesting depth, and the statistics it gathers while nested.
struct OwnerState {
    /// Nesting depth (0: held once).
    depth: u32,
    /// Nested acquisitions and largest depth not yet published to [`STATS`] (published at the
    /// outermost release, so the nested path costs no atomic operation).
    nested: u64,
    max: u32,
}

/// The lock owner's state.
///
/// # Invariants
///
/// The value is read and written only by the task that owns `pci_rescan_remove_lock` (the task
/// its `owner` word names), between its outermost acquisition and release; all fields are zero
/// whenever the mutex is not held.
struct Depth(UnsafeCell<OwnerState>);

// SAFETY: By the type invariant only the lock's owner accesses the cell, and ownership moves
// between tasks only through the mutex, which orders the accesses.
unsafe impl Sync for Depth {}

static DEPTH: Depth = Depth(UnsafeCell::new(OwnerState {
    depth: 0,
    nested: 0,
    max: 0,
}));

/// Counters for the debugfs view.
pub(crate) struct Stats {
    /// Nested acquisitions since the module loaded, counted when the outermost holder releases.
    pub(crate) nested: Atomic<u64>,
    /// Largest depth seen (0: never nested).
    pub(crate) max_depth: Atomic<u32>,
}

pub(crate) static STATS: Stats = Stats {
    nested: Atomic::new(0),
    max_depth: Atomic::new(0),
};

/// Where the current task can be read without a function call, if the architecture has such a
/// place: on s390 the `current_task` word of the lowcore, which every CPU sees at the same
/// address (`zr_lowcore_current_task()`). Elsewhere, and until [`init_current`] ran, `current`
/// comes from the kernel crate's out-of-line `get_current()` helper. The lock's fast paths read
/// `current` once or twice per pair, and the helper call was most of their cost (`make bench`).
///
/// # Invariants
///
/// The value is 0 or the address of the lowcore's `current_task` word. It is written only by
/// [`init_current`], in module init before the livepatch is enabled and before any of the
/// module's code that takes the lock can run; afterwards it is only read.
struct CurrentSlot(UnsafeCell<usize>);

// SAFETY: By the type invariant the only write happens before any reader exists (module init,
// ordered before the patched functions become reachable by `klp_enable_patch()`).
unsafe impl Sync for CurrentSlot {}

static CURRENT_SLOT: CurrentSlot = CurrentSlot(UnsafeCell::new(0));

/// Records where `current` can be read inline. Called once from module init, before the
/// livepatch is enabled.
pub(crate) fn init_current() {
    #[cfg(CONFIG_S390)]
    {
        // SAFETY: A C function without preconditions returning a constant address.
        let addr = unsafe { crate::c_glue::zr_lowcore_current_task() } as usize;
        // SAFETY: Module init, before the livepatch is enabled: no reader exists yet (type
        // invariant); `addr` is the lowcore's `current_task` word.
        unsafe { core::ptr::write_volatile(CURRENT_SLOT.0.get(), addr) };
        if current_task() != Task::current_raw() {
            kernel::pr_warn!(
                "lowcore current_task at {:#x} is not current; using get_current()\n",
                addr
            );
            // SAFETY: As above: still module init, no reader yet.
            unsafe { core::ptr::write_volatile(CURRENT_SLOT.0.get(), 0) };
        }
    }
}

/// The current task.
#[inline(always)]
fn current_task() -> *mut bindings::task_struct {
    // SAFETY: Written only before any reader exists (type invariant of `CurrentSlot`).
    let slot = unsafe { core::ptr::read_volatile(CURRENT_SLOT.0.get()) };
    if slot == 0 {
        return Task::current_raw();
    }
    // SAFETY: By the type invariant `slot` is the address of the lowcore's `current_task`,
    // mapped on every CPU at that address and naming the task running there: one load of it is
    // `current`, whichever CPU it runs on (as `get_current()` on s390).
    unsafe { core::ptr::read_volatile(slot as *const u64) as *mut bindings::task_struct }
}

/// The PCI rescan/remove lock, reentrant for its owner.
pub(crate) struct RescanRemoveLock;

impl RescanRemoveLock {
    /// `pci_rescan_remove_lock` of vmlinux (declared in the private drivers/pci/pci.h; not
    /// exported, so reached through a livepatch relocation, tools/klp-convert).
    fn mutex() -> *mut bindings::mutex {
        &raw mut bindings_extra::pci_rescan_remove_lock
    }

    /// The task that holds the mutex, or null.
    pub(crate) fn owner() -> *mut bindings::task_struct {
        // SAFETY: `owner` is the mutex's `atomic_long_t` word, valid for the kernel's lifetime
        // and always accessed atomically by the kernel. A volatile read of the aligned word is
        // `READ_ONCE()`, what `atomic_long_read()` and `__mutex_owner()` do, without the
        // out-of-line helper call of `Atomic::load` (the lock's fast path, see `make bench`).
        let word = unsafe { core::ptr::read_volatile(&raw const (*Self::mutex()).owner.counter) };
        (word & !MUTEX_FLAGS) as *mut bindings::task_struct
    }

    /// Whether the current task holds the lock.
    ///
    /// Only the current task can store itself as the owner, so a stale read can never equal
    /// `current` unless this task holds the mutex.
    pub(crate) fn held_by_current() -> bool {
        Self::owner() == current_task()
    }

    /// The current nesting depth if the current task holds the lock (0: outermost only).
    pub(crate) fn depth_of_current() -> Option<u32> {
        if Self::held_by_current() {
            // SAFETY: The current task owns the mutex, so by the invariant of `Depth` it alone
            // accesses the counter.
            Some(unsafe { (*DEPTH.0.get()).depth })
        } else {
            None
        }
    }

    /// Takes the lock, or nests one level deeper if the current task holds it already.
    pub(crate) fn lock() -> RescanRemoveGuard {
        // SAFETY: The guard releases exactly this acquisition, on this task (it is `!Send`).
        unsafe { lock_raw() };
        RescanRemoveGuard {
            _not_send: NotThreadSafe,
        }
    }
}

/// Acquisition for the C ABI replacement and the guard.
///
/// # Safety
///
/// Process context; every call is paired with one [`unlock_raw`] on the same task.
unsafe fn lock_raw() {
    // Fast path: a free mutex cannot be ours (no `current` lookup needed); if another task takes
    // it meanwhile, `mutex_lock()` waits as it would anyway. The owner word is read once; as in
    // `held_by_current()`, a stale value can equal `current` only if this task holds the mutex.
    let owner = RescanRemoveLock::owner();
    if !owner.is_null() && owner == current_task() {
        // SAFETY: The current task owns the mutex: by the invariant of `Depth` it alone accesses
        // the state.
        unsafe {
            let st = &mut *DEPTH.0.get();
            st.depth = st.depth.saturating_add(1);
            st.nested += 1;
            st.max = st.max.max(st.depth);
        }
        return;
    }
    // SAFETY: The mutex is a valid, initialised kernel mutex; we are in process context.
    unsafe { bindings::mutex_lock(RescanRemoveLock::mutex()) };
    // INVARIANT: The depth of a released mutex is zero and stays so until its next owner (this
    // task, now) changes it.
}

/// Release matching [`lock_raw`].
///
/// # Safety
///
/// The current task holds the lock through a [`lock_raw`] not yet released.
unsafe fn unlock_raw() {
    if kernel::warn_on!(!RescanRemoveLock::held_by_current()) {
        // Unbalanced: whoever holds it is not us. Leave the mutex alone rather than corrupt it.
        return;
    }
    // SAFETY: The current task owns the mutex: it alone accesses the state, and the reference
    // ends before the mutex is released.
    let st = unsafe { &mut *DEPTH.0.get() };
    if st.depth > 0 {
        st.depth -= 1;
        return;
    }
    if st.nested > 0 {
        STATS.nested.add(st.nested, Relaxed);
        // Only the lock's owner gets here, one task at a time: load-then-store cannot race.
        if st.max > STATS.max_depth.load(Relaxed) {
            STATS.max_depth.store(st.max, Relaxed);
        }
        st.nested = 0;
        st.max = 0;
    }
    // SAFETY: The current task holds the mutex at depth zero: this is the outermost release.
    unsafe { bindings::mutex_unlock(RescanRemoveLock::mutex()) };
}

/// Proof of holding the rescan/remove lock; releasing it on drop.
///
/// Gives access to no data, so any number of nested guards coexist without aliasing.
#[must_use = "the lock is released when the guard is dropped"]
pub(crate) struct RescanRemoveGuard {
    _not_send: NotThreadSafe,
}

impl Drop for RescanRemoveGuard {
    fn drop(&mut self) {
        // SAFETY: The guard was created by `RescanRemoveLock::lock` on this task and releases
        // that acquisition once.
        unsafe { unlock_raw() };
    }
}

/// Livepatch replacement of `void pci_lock_rescan_remove(void)`.
#[no_mangle]
pub(crate) extern "C" fn zr_pci_lock_rescan_remove() {
    // SAFETY: Callers of the C API pair it with `pci_unlock_rescan_remove()` on the same task.
    unsafe { lock_raw() };
}

/// Livepatch replacement of `void pci_unlock_rescan_remove(void)`.
#[no_mangle]
pub(crate) extern "C" fn zr_pci_unlock_rescan_remove() {
    // SAFETY: Callers of the C API hold the lock through `pci_lock_rescan_remove()`.
    unsafe { unlock_raw() };
}
