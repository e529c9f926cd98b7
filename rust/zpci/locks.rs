// SPDX-License-Identifier: GPL-2.0

//! The zPCI locks after the rescan/remove lock, as guards of the kernel crate's lock types over
//! the C-initialised locks (`Lock::from_raw`): `zpci_add_remove_lock`, reached only through a
//! borrowed [`RescanRemoveGuard`], `zpci_list_lock` only through an [`AddRemoveGuard`], and a
//! function's `state_lock`, ordered before all of them.

use super::{
    zdev::Zdev,
    zpci_add_remove_lock,
    zpci_list,
    zpci_list_lock, //
};
use crate::rescan_lock::RescanRemoveGuard;
use core::marker::PhantomData;
use kernel::{
    bindings,
    sync::{
        Mutex,
        MutexGuard,
        SpinLock, //
    }, //
};

/// Proof of holding `zpci_add_remove_lock`, taken after the rescan/remove lock.
///
/// # Invariants
///
/// `_lock` holds `zpci_add_remove_lock`, taken while the current task held the rescan/remove
/// lock, which outlives the guard (`'a`).
#[must_use = "the lock is released when the guard is dropped"]
pub(crate) struct AddRemoveGuard<'a> {
    _lock: MutexGuard<'static, ()>,
    _rescan: PhantomData<&'a RescanRemoveGuard>,
}

impl<'a> AddRemoveGuard<'a> {
    /// Takes `zpci_add_remove_lock`; the rescan/remove lock must be held (`rescan`).
    pub(crate) fn lock(_rescan: &'a RescanRemoveGuard) -> Self {
        // SAFETY: `zpci_add_remove_lock` is a static mutex (`DEFINE_MUTEX()`), initialised at
        // build time and never freed.
        let lock = unsafe { Mutex::<()>::from_raw(&raw mut zpci_add_remove_lock) };
        // INVARIANT: Taken here; `_rescan` borrows the rescan/remove guard for `'a`.
        AddRemoveGuard {
            _lock: lock.lock(),
            _rescan: PhantomData,
        }
    }

    /// Runs `f` on `zpci_list` with `zpci_list_lock` held (a spinlock: `f` must not sleep).
    pub(super) fn with_list<R>(&self, f: impl FnOnce(*mut bindings::list_head) -> R) -> R {
        // SAFETY: `zpci_list_lock` is a static spinlock (`DEFINE_SPINLOCK()`), initialised at
        // build time and never freed.
        let _list = unsafe { SpinLock::<()>::from_raw(&raw mut zpci_list_lock) }.lock();
        f(&raw mut zpci_list)
    }
}

/// Proof of holding a function's `state_lock`.
///
/// # Invariants
///
/// `_lock` holds `zdev`'s `state_lock`.
#[must_use = "the lock is released when the guard is dropped"]
pub(crate) struct StateGuard<'a> {
    zdev: &'a Zdev,
    _lock: MutexGuard<'a, ()>,
}

impl<'a> StateGuard<'a> {
    /// Takes `zdev->state_lock`, the outermost lock of the order.
    pub(super) fn lock(zdev: &'a Zdev) -> Self {
        // SAFETY: The function is live while `zdev` is (its type invariant), and its
        // `state_lock` is initialised at creation (`zpci_create_device()`).
        let lock = unsafe { Mutex::<()>::from_raw(&raw mut (*zdev.as_ptr()).state_lock) };
        // INVARIANT: Taken here.
        StateGuard {
            zdev,
            _lock: lock.lock(),
        }
    }

    /// The function's state, stable while the guard lives.
    pub(super) fn state(&self) -> bindings::zpci_state {
        // SAFETY: The function is live and its state is written under `state_lock`, held.
        unsafe { (*self.zdev.as_ptr()).state }
    }
}
