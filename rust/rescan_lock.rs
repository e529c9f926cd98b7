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
use core::sync::atomic::{AtomicU32, Ordering::Relaxed as CoreRelaxed};
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

/// The owner's nesting depth (0: held once, or not held).
///
/// Written only by the task that owns `pci_rescan_remove_lock` (the task its `owner` word
/// names), between its outermost acquisition and release, and zero whenever the mutex is not
/// held. Read by the owner, and by a releasing task before it knows whether it owns the lock:
/// a relaxed atomic, so that read is no data race; the owner's own accesses are ordered by
/// program order, and ownership moves between tasks only through the mutex.
static DEPTH: AtomicU32 = AtomicU32::new(0);

/// The statistics the owner gathers while nested: nested acquisitions and largest depth not yet
/// published to [`STATS`] (published at the outermost release).
struct OwnerStats {
    nested: u64,
    max: u32,
}

/// The lock owner's statistics.
///
/// # Invariants
///
/// The value is read and written only by the task that owns `pci_rescan_remove_lock`, between
/// its outermost acquisition and release; all fields are zero whenever the mutex is not held.
struct OwnerCell(UnsafeCell<OwnerStats>);

// SAFETY: By the type invariant only the lock's owner accesses the cell, and ownership moves
// between tasks only through the mutex, which orders the accesses.
unsafe impl Sync for OwnerCell {}

static OWNER_STATS: OwnerCell = OwnerCell(UnsafeCell::new(OwnerStats { nested: 0, max: 0 }));

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
/// address (`zr_lowcore_current_task()`). On x86_64 [`current_task`] reads the per-CPU
/// variable itself; elsewhere `current` comes from the kernel crate's out-of-line
/// `get_current()` helper. The lock's fast paths read `current` once or twice per pair, and the
/// helper call was most of their cost (`make bench`).
///
/// # Invariants
///
/// The value is the address of the lowcore's `current_task` word once [`init_current`] has run
/// (0 before; module init refuses to load if the word is not `current`). It is written only by
/// [`init_current`], in module init before the livepatch is enabled and before any of the
/// module's code that takes the lock can run (so [`current_task`] never sees 0); afterwards it
/// is only read.
#[cfg(CONFIG_S390)]
struct CurrentSlot(UnsafeCell<usize>);

// SAFETY: By the type invariant the only write happens before any reader exists (module init,
// ordered before the patched functions become reachable by `klp_enable_patch()`).
#[cfg(CONFIG_S390)]
unsafe impl Sync for CurrentSlot {}

#[cfg(CONFIG_S390)]
static CURRENT_SLOT: CurrentSlot = CurrentSlot(UnsafeCell::new(0));

/// Records where `current` can be read inline, and checks the inline read against the kernel's
/// `get_current()`. Called once from module init, before the livepatch is enabled.
pub(crate) fn init_current() -> kernel::error::Result {
    #[cfg(CONFIG_S390)]
    {
        // SAFETY: A C function without preconditions returning a constant address.
        let addr = unsafe { crate::c_glue::zr_lowcore_current_task() } as usize;
        // SAFETY: Module init, before the livepatch is enabled: no reader exists yet (type
        // invariant); `addr` is the lowcore's `current_task` word.
        unsafe { core::ptr::write_volatile(CURRENT_SLOT.0.get(), addr) };
    }
    if current_task() != Task::current_raw() {
        kernel::pr_err!("the inline read of current is not get_current(); refusing to load\n");
        return Err(kernel::error::code::EINVAL);
    }
    Ok(())
}

#[cfg(CONFIG_X86_64)]
extern "C" {
    /// x86-64's per-CPU `current_task` (arch/x86/include/asm/current.h, exported for modules),
    /// a `struct task_struct *`: only its address is used, as an operand of the load below.
    #[link_name = "current_task"]
    static CURRENT_TASK_PERCPU: usize;
}

/// The current task: x86-64's `get_current()`, `this_cpu_read_stable(current_task)`.
#[cfg(CONFIG_X86_64)]
#[inline(always)]
fn current_task() -> *mut bindings::task_struct {
    let task: *mut bindings::task_struct;
    // SAFETY: The per-CPU variable `current_task` names the task running on this CPU; one
    // %gs-relative, RIP-relative load of it is what `this_cpu_read_stable()` emits, and names
    // the current task whichever CPU it runs on (a task that migrates reads itself on the new
    // CPU too). The load has no side effect and touches no other memory.
    unsafe {
        core::arch::asm!(
            "movq %gs:{cur}(%rip), {task}",
            cur = sym CURRENT_TASK_PERCPU,
            task = out(reg) task,
            options(att_syntax, nostack, preserves_flags, readonly, pure)
        )
    };
    task
}

/// The current task: elsewhere the kernel crate's helper.
#[cfg(not(any(CONFIG_X86_64, CONFIG_S390)))]
#[inline(always)]
fn current_task() -> *mut bindings::task_struct {
    Task::current_raw()
}

/// The current task: s390's `get_current()`, the lowcore's `current_task`.
#[cfg(CONFIG_S390)]
#[inline(always)]
fn current_task() -> *mut bindings::task_struct {
    // SAFETY: Written only before any reader exists (type invariant of `CurrentSlot`).
    let slot = unsafe { core::ptr::read_volatile(CURRENT_SLOT.0.get()) };
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
            Some(DEPTH.load(CoreRelaxed))
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

/// `mutex_lock()` itself: with lock debugging a macro for `mutex_lock_nested(lock, 0)`, for which
/// the kernel crate's binding is an out-of-line helper; without, an exported function, called
/// directly (one call level less on the lock's path).
///
/// # Safety
///
/// As `mutex_lock()`: `lock` is an initialised mutex; process context.
#[inline(always)]
unsafe fn mutex_lock(lock: *mut bindings::mutex) {
    #[cfg(CONFIG_DEBUG_LOCK_ALLOC)]
    // SAFETY: By the safety requirements; subclass 0 is what `mutex_lock()` passes.
    unsafe {
        bindings::mutex_lock_nested(lock, 0)
    };
    #[cfg(not(CONFIG_DEBUG_LOCK_ALLOC))]
    // SAFETY: By the safety requirements.
    unsafe {
        stock::mutex_lock(lock)
    };
}

#[cfg(not(CONFIG_DEBUG_LOCK_ALLOC))]
mod stock {
    extern "C" {
        /// kernel/locking/mutex.c, exported (without lock debugging).
        pub(super) fn mutex_lock(lock: *mut kernel::bindings::mutex);
    }
}

/// `n + delta` (wrapping), computed in a register. On s390 LLVM turns a counter's `+= 1` in
/// memory into ASI/AGSI, which the interlocked-access facility performs as an interlocked update
/// (an atomic read-modify-write, `scripts/lock-fastpath.py`), even for plain or relaxed-atomic
/// accesses; the owner-only counters need a load and a store. Elsewhere plain arithmetic. The
/// counters cannot wrap in practice: a nesting level is a stack frame.
#[inline(always)]
fn plain_add(n: u64, delta: i16) -> u64 {
    #[cfg(CONFIG_S390)]
    {
        let mut v = n;
        // SAFETY: Adds to a register; no memory access, no other effect.
        unsafe {
            core::arch::asm!("agr {v}, {d}", v = inout(reg) v, d = in(reg) i64::from(delta),
                             options(pure, nomem, nostack))
        };
        v
    }
    #[cfg(not(CONFIG_S390))]
    {
        n.wrapping_add_signed(i64::from(delta))
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
        // The current task owns the mutex: it alone writes the depth (see `DEPTH`).
        let depth = plain_add(u64::from(DEPTH.load(CoreRelaxed)), 1) as u32;
        DEPTH.store(depth, CoreRelaxed);
        // SAFETY: The current task owns the mutex: by the invariant of `OwnerCell` it alone
        // accesses the statistics.
        unsafe {
            let st = &mut *OWNER_STATS.0.get();
            st.nested = plain_add(st.nested, 1);
            st.max = st.max.max(depth);
        }
        return;
    }
    // SAFETY: The mutex is a valid, initialised kernel mutex; we are in process context.
    unsafe { mutex_lock(RescanRemoveLock::mutex()) };
    // INVARIANT: The depth of a released mutex is zero and stays so until its next owner (this
    // task, now) changes it.
}

/// Release matching [`lock_raw`].
///
/// # Safety
///
/// The current task holds the lock through a [`lock_raw`] not yet released.
#[inline(always)]
unsafe fn unlock_raw() {
    let depth = DEPTH.load(CoreRelaxed);
    if depth == 0 {
        // The outermost release: the mutex's own, as 7.3.4's. (A release by a task that does not
        // hold the lock at all reaches `mutex_unlock()` as it would in 7.3.4, whose lock
        // debugging reports it.)
        // SAFETY: By the safety requirements the current task holds the mutex, at depth zero:
        // by the invariant of `OwnerCell` it alone accesses the statistics.
        if unsafe { (*OWNER_STATS.0.get()).nested } != 0 {
            // SAFETY: As above.
            return unsafe { publish_stats_and_unlock() };
        }
        // SAFETY: As above.
        unsafe { bindings::mutex_unlock(RescanRemoveLock::mutex()) };
        return;
    }
    if !RescanRemoveLock::held_by_current() {
        // A nested level is held, by another task: leave its depth alone rather than corrupt it.
        return unbalanced_release();
    }
    // The current task owns the mutex: it alone writes the depth (see `DEPTH`).
    let depth = plain_add(u64::from(depth), -1) as u32;
    DEPTH.store(depth, CoreRelaxed);
}

/// An unbalanced release by a task that does not hold the lock: warned about, out of line and
/// cold (the warning's trap needs a stack frame the release's paths do without).
#[cold]
#[inline(never)]
fn unbalanced_release() {
    kernel::warn_on!(true);
}

/// The outermost release of an owner that nested: its statistics published to [`STATS`], then
/// the mutex released. Out of line and cold, so that the release's paths need no stack frame.
///
/// # Safety
///
/// The current task owns the mutex at depth zero.
#[cold]
#[inline(never)]
unsafe fn publish_stats_and_unlock() {
    // SAFETY: The current task owns the mutex: by the invariant of `OwnerCell` it alone accesses
    // the statistics.
    let st = unsafe { &mut *OWNER_STATS.0.get() };
    // Only the lock's owner gets here, one task at a time (ordered by the mutex): a load then a
    // store cannot race with another writer, and needs no interlocked instruction (readers see
    // the old or the new value).
    STATS
        .nested
        .store(STATS.nested.load(Relaxed) + st.nested, Relaxed);
    if st.max > STATS.max_depth.load(Relaxed) {
        STATS.max_depth.store(st.max, Relaxed);
    }
    st.nested = 0;
    st.max = 0;
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
///
/// # Safety
///
/// As the original's: called in process context (it may sleep), and paired with
/// `pci_unlock_rescan_remove()` on the same task. (Unsafe, as every function the C side calls
/// through a prototype: `c_prototype!` compares it with bindgen's `unsafe` declaration.)
#[no_mangle]
pub(crate) unsafe extern "C" fn zr_pci_lock_rescan_remove() {
    // SAFETY: By the safety requirements, the caller pairs it with the unlock on this task.
    unsafe { lock_raw() };
}
crate::c_glue::c_prototype!(zr_pci_lock_rescan_remove);

/// Livepatch replacement of `void pci_unlock_rescan_remove(void)`.
///
/// # Safety
///
/// The calling task holds the lock through `pci_lock_rescan_remove()`.
#[no_mangle]
pub(crate) unsafe extern "C" fn zr_pci_unlock_rescan_remove() {
    // SAFETY: By the safety requirements.
    unsafe { unlock_raw() };
}
crate::c_glue::c_prototype!(zr_pci_unlock_rescan_remove);
