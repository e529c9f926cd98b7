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
//! The types here encode the order: an [`AddRemoveGuard`] can only be made from a borrowed
//! [`RescanRemoveGuard`], so `zpci_add_remove_lock` is never taken without the rescan/remove lock
//! and is released before it; `zpci_list_lock` is only reached through an [`AddRemoveGuard`].
//! `zdev->state_lock`, ordered before both, is a [`StateGuard`]; taking it under the rescan/remove
//! lock cannot be ruled out by types (nothing proves a lock is *not* held) and is left to lockdep.

use crate::rescan_lock::{
    RescanRemoveGuard,
    RescanRemoveLock, //
};
use crate::{bindings_extra, remove};
use core::{marker::PhantomData, ptr::NonNull};
use kernel::{
    bindings,
    container_of,
    prelude::*,
    types::NotThreadSafe, //
};

// Static data of arch/s390/pci/pci.c, not exported: reached through livepatch relocations
// (tools/klp-convert). Declarations of the symbols only; their types come from the bindings.
// `improper_ctypes`: `struct zpci_dev` crosses only as a pointer; the lint looks through it to
// an empty struct of a config-dependent member (`sched_statistics`), which bindgen's own
// declarations of the same functions allow as well.
#[allow(improper_ctypes)]
extern "C" {
    /// Serialises `zpci_add_device()` against the final release of a function.
    static mut zpci_add_remove_lock: bindings::mutex;
    /// Protects `zpci_list` and the last-reference transition of `zpci_dev::kref`.
    static mut zpci_list_lock: bindings::spinlock_t;
    /// All zPCI functions known to the kernel.
    static mut zpci_list: bindings::list_head;
    /// The config-space accessors of every zPCI root bus.
    static mut pci_root_ops: bindings::pci_ops;
    /// `static int zpci_bus_prepare_device(struct zpci_dev *zdev)` (arch/s390/pci/pci_bus.c):
    /// enable the function and add its BARs to its bus. Declared in no header.
    fn zpci_bus_prepare_device(zdev: *mut bindings::zpci_dev) -> c_int;
}

/// `zpci_dbg()` of arch/s390/include/asm/pci_debug.h: an entry in the s390 debug feature
/// `pci_msg` at `level`, if that level is enabled. The arguments are passed as `long`, as
/// `__debug_sprintf_event()` reads them.
macro_rules! zpci_dbg {
    ($level:expr, $fmt:expr $(, $arg:expr)* $(,)?) => {{
        // SAFETY: `pci_debug_msg_id` is set once at boot (null if the debug feature failed to
        // register) and never freed while PCI is up.
        let id = unsafe { bindings::pci_debug_msg_id };
        let level: c_int = $level;
        // SAFETY: A non-null `id` is a registered debug feature.
        if !id.is_null() && level <= unsafe { (*id).level } {
            // SAFETY: `fmt` is a NUL-terminated format whose conversions match the arguments,
            // all `long`; the debug feature copies them.
            unsafe {
                bindings::__debug_sprintf_event(
                    id,
                    level,
                    $fmt.as_char_ptr().cast_mut(),
                    $($arg as c_long),*
                )
            };
        }
    }};
}

/// Proof of holding `zpci_add_remove_lock`, taken after the rescan/remove lock.
///
/// # Invariants
///
/// The current task holds `zpci_add_remove_lock` (taken by [`AddRemoveGuard::lock`]) and the
/// rescan/remove lock, which outlives the guard (`'a`).
#[must_use = "the lock is released when the guard is dropped"]
pub(crate) struct AddRemoveGuard<'a> {
    _rescan: PhantomData<&'a RescanRemoveGuard>,
    _not_send: NotThreadSafe,
}

impl<'a> AddRemoveGuard<'a> {
    /// Takes `zpci_add_remove_lock`; the rescan/remove lock must be held (`rescan`).
    pub(crate) fn lock(_rescan: &'a RescanRemoveGuard) -> Self {
        // SAFETY: A valid, initialised kernel mutex; process context (the caller holds a mutex).
        unsafe { bindings::mutex_lock(&raw mut zpci_add_remove_lock) };
        // INVARIANT: Just taken; `_rescan` borrows the rescan/remove guard for `'a`.
        AddRemoveGuard {
            _rescan: PhantomData,
            _not_send: NotThreadSafe,
        }
    }

    /// Runs `f` with `zpci_list_lock` held (a spinlock: `f` must not sleep).
    fn with_list<R>(&self, f: impl FnOnce(*mut bindings::list_head) -> R) -> R {
        // SAFETY: A valid, initialised spinlock; released below on the same task.
        unsafe { bindings::spin_lock(&raw mut zpci_list_lock) };
        let r = f(&raw mut zpci_list);
        // SAFETY: Taken above.
        unsafe { bindings::spin_unlock(&raw mut zpci_list_lock) };
        r
    }
}

impl Drop for AddRemoveGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the current task holds the mutex.
        unsafe { bindings::mutex_unlock(&raw mut zpci_add_remove_lock) };
    }
}

/// A zPCI function.
///
/// # Invariants
///
/// `ptr` points to a live `struct zpci_dev` that stays live while the value exists: the caller of
/// the replaced function holds a reference to it (its kref, or a `pci_dev` that holds one), or
/// the value owns one the replacement took, which [`Zdev::put`] drops with the value.
pub(crate) struct Zdev {
    ptr: NonNull<bindings::zpci_dev>,
}

impl Zdev {
    /// # Safety
    ///
    /// `ptr` is null or a live `struct zpci_dev` kept alive as the type invariant requires.
    pub(crate) unsafe fn from_raw(ptr: *mut bindings::zpci_dev) -> Option<Self> {
        // INVARIANT: By the safety requirements.
        NonNull::new(ptr).map(|ptr| Zdev { ptr })
    }

    /// The function of a zPCI `pci_dev` (`to_zpci()`).
    ///
    /// # Safety
    ///
    /// `pdev` is a live `pci_dev` on a zPCI bus, held by the caller while the value is used.
    pub(crate) unsafe fn of_pci_dev(pdev: *mut bindings::pci_dev) -> Option<Self> {
        // SAFETY: On s390 a pci_dev's `sysdata` is its `struct zpci_bus`, which holds one
        // reference per function it lists, so the function outlives the pci_dev.
        unsafe {
            let zbus = (*pdev).sysdata.cast::<bindings::zpci_bus>();
            let devfn = (*pdev).devfn as usize;
            Self::from_raw(
                (*zbus)
                    .function
                    .get(devfn)
                    .copied()
                    .unwrap_or(core::ptr::null_mut()),
            )
        }
    }

    fn as_ptr(&self) -> *mut bindings::zpci_dev {
        self.ptr.as_ptr()
    }

    /// The function's bus (`zdev->zbus`), set for the function's lifetime.
    fn zbus(&self) -> *mut bindings::zpci_bus {
        // SAFETY: The function is live (type invariant).
        unsafe { (*self.as_ptr()).zbus }
    }

    /// The function's `pci_bus`, or null before its bus is scanned.
    fn pci_bus(&self) -> *mut bindings::pci_bus {
        // SAFETY: `zbus` is live while one of its functions is.
        unsafe { (*self.zbus()).bus }
    }

    /// The function's `pci_dev` with a reference the caller drops (`pci_dev_put()`), or null if
    /// its bus is not scanned yet or the device is not on it.
    fn get_pci_dev(&self) -> *mut bindings::pci_dev {
        let bus = self.pci_bus();
        if bus.is_null() {
            return core::ptr::null_mut();
        }
        // SAFETY: `bus` is the function's live root bus; `devfn` is its slot on it.
        unsafe { bindings::pci_get_slot(bus, (*self.as_ptr()).devfn) }
    }

    /// Whether the function is enabled (`zdev_enabled()`: bit 0 of the function handle).
    fn enabled(&self) -> bool {
        // SAFETY: The function is live; `fh` is a plain word the platform code updates.
        let fh = unsafe { core::ptr::read_volatile(&raw const (*self.as_ptr()).fh) };
        fh & (1 << 31) != 0
    }

    /// Takes `zdev->state_lock`, the outermost lock of the order.
    pub(crate) fn lock_state(&self) -> StateGuard<'_> {
        // SAFETY: The function is live; its `state_lock` is initialised at creation.
        unsafe { bindings::mutex_lock(&raw mut (*self.as_ptr()).state_lock) };
        // INVARIANT: Just taken.
        StateGuard {
            zdev: self,
            _not_send: NotThreadSafe,
        }
    }

    /// Drops one reference (`kref_put_lock(&zdev->kref, zpci_release_device, &zpci_list_lock)`):
    /// the last one releases the function, which `zpci_release_device()` does with
    /// `zpci_list_lock` held on entry (it unlinks the function and drops that lock first).
    fn put(self, _ar: &AddRemoveGuard<'_>) {
        let z = self.as_ptr();
        // SAFETY: The function is live and the caller's reference is the one dropped here;
        // `zpci_list_lock` is a valid spinlock, held on a `true` return.
        if unsafe {
            bindings::refcount_dec_and_lock(&raw mut (*z).kref.refcount, &raw mut zpci_list_lock)
        } {
            // SAFETY: Last reference, `zpci_list_lock` and (by `_ar`) `zpci_add_remove_lock`
            // held, as `zpci_release_device()` requires; it releases the list lock and frees
            // the function.
            unsafe { bindings_extra::zpci_release_device(&raw mut (*z).kref) };
        }
    }
}

/// Proof of holding a function's `state_lock`.
///
/// # Invariants
///
/// The current task holds `zdev.state_lock`.
#[must_use = "the lock is released when the guard is dropped"]
pub(crate) struct StateGuard<'a> {
    zdev: &'a Zdev,
    _not_send: NotThreadSafe,
}

impl StateGuard<'_> {
    /// The function's state, stable while the guard lives.
    fn state(&self) -> bindings::zpci_state {
        // SAFETY: The function is live and its state is written under `state_lock`, held.
        unsafe { (*self.zdev.as_ptr()).state }
    }
}

impl Drop for StateGuard<'_> {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the current task holds the mutex.
        unsafe { bindings::mutex_unlock(&raw mut (*self.zdev.as_ptr()).state_lock) };
    }
}

/// Livepatch replacement of `void zpci_zdev_put(struct zpci_dev *zdev)`: the rescan/remove lock
/// before `zpci_add_remove_lock`, so the release's own acquisitions nest.
///
/// # Safety
///
/// `zdev` is null or a live function on which the caller holds the reference it drops.
#[no_mangle]
pub(crate) unsafe extern "C" fn zr_zpci_zdev_put(zdev: *mut bindings::zpci_dev) {
    // SAFETY: By the safety requirements.
    let Some(zdev) = (unsafe { Zdev::from_raw(zdev) }) else {
        return;
    };
    let rescan = RescanRemoveLock::lock();
    let ar = AddRemoveGuard::lock(&rescan);
    zdev.put(&ar);
}
crate::c_glue::c_prototype!(zr_zpci_zdev_put);

/// Livepatch replacement of `void zpci_remove_reserved_devices(void)`, the handler of the
/// platform's 0x0306 ("no function handle or id stored": reservations announced without naming
/// the functions): every function in standby that CLP no longer lists is reserved
/// (`zpci_device_reserved()`, which drops the reference its presence held).
///
/// 7.3.4 moves those functions from `zpci_list` to a list of its own and reserves them without
/// their `state_lock`, which `zpci_device_reserved()` asserts (lockdep's WARNING, and a state
/// written without its lock), and without looking at their state again: a configure (0x0301,
/// slot power-on) between the walk and the reservation would be undone behind its back. Here
/// each function is reserved under its `state_lock`, still in standby; it stays on `zpci_list`
/// until its release unlinks it.
#[no_mangle]
pub(crate) extern "C" fn zr_zpci_remove_reserved_devices() {
    // Each round reserves one function or finds none: a reserved function is no longer in
    // standby, and one that left standby meanwhile is skipped.
    while let Some(zdev) = next_reserved() {
        {
            let state = zdev.lock_state();
            if state.state() == bindings::zpci_state_ZPCI_FN_STATE_STANDBY {
                // SAFETY: A live function, its `state_lock` held, as the function requires.
                unsafe { bindings::zpci_device_reserved(zdev.as_ptr()) };
            }
        }
        // Drops the reference `next_reserved()` took, consuming `zdev` with it.
        let rescan = RescanRemoveLock::lock();
        zdev.put(&AddRemoveGuard::lock(&rescan));
    }
}
crate::c_glue::c_prototype!(zr_zpci_remove_reserved_devices);

/// The first function on `zpci_list` that is in standby and that CLP reports reserved, with a
/// reference taken for the caller (dropped with [`Zdev::put`]).
///
/// Each call walks the list from its head: O(functions × reserved) CLP list calls for one
/// 0x0306, each under `zpci_list_lock` as 7.3.4's single walk does per function; the lists
/// are short (one entry per function of the partition), and the walk needs no cursor that
/// outlives the lock.
fn next_reserved() -> Option<Zdev> {
    let rescan = RescanRemoveLock::lock();
    let ar = AddRemoveGuard::lock(&rescan);
    ar.with_list(|head| {
        // SAFETY: `zpci_list_lock` is held: the entries are live functions linked by `entry`,
        // and none is freed or unlinked meanwhile (the last put needs that lock).
        unsafe {
            let mut pos = (*head).next;
            while pos != head {
                let z = container_of!(pos, bindings::zpci_dev, entry);
                let mut state: bindings::zpci_state = bindings::zpci_state_ZPCI_FN_STATE_STANDBY;
                // A racy read, as in 7.3.4: the caller checks again under `state_lock`.
                // `clp_get_state()` allocates with GFP_ATOMIC: callable under the spinlock.
                if (*z).state == bindings::zpci_state_ZPCI_FN_STATE_STANDBY
                    && bindings::clp_get_state((*z).fid, &mut state) == 0
                    && state == bindings::zpci_state_ZPCI_FN_STATE_RESERVED
                {
                    // `zpci_zdev_get()`: the list's own reference keeps the count above zero.
                    bindings::refcount_inc(&raw mut (*z).kref.refcount);
                    return Zdev::from_raw(z);
                }
                pos = (*pos).next;
            }
        }
        None
    })
}

/// Livepatch replacement of `int zpci_add_device(struct zpci_dev *zdev)`: as 7.3.4, with the
/// rescan/remove lock taken before `zpci_add_remove_lock`. A failed bus registration drops the
/// bus (`zpci_bus_put()` → `zpci_bus_release()`, which takes the rescan/remove lock): nested here,
/// where 7.3.4 ordered it after `zpci_add_remove_lock` (Block's (B')).
///
/// # Safety
///
/// `zdev` is a newly created function not yet on `zpci_list`, owned by the caller.
#[no_mangle]
pub(crate) unsafe extern "C" fn zr_zpci_add_device(zdev: *mut bindings::zpci_dev) -> c_int {
    let rescan = RescanRemoveLock::lock();
    let ar = AddRemoveGuard::lock(&rescan);
    // SAFETY: `zdev` is valid (safety requirements).
    let (fid, fh, state) = unsafe { ((*zdev).fid, (*zdev).fh, (*zdev).state) };
    zpci_dbg!(1, c"add fid:%x, fh:%x, c:%d\n", fid, fh, state);
    // SAFETY: `zdev` is a new function, as these functions expect; `pci_root_ops` is the static
    // ops table of arch/s390/pci/pci.c.
    let mut rc = unsafe { bindings::zpci_init_iommu(zdev) };
    if rc == 0 {
        // SAFETY: As above.
        rc = unsafe { bindings_extra::zpci_bus_device_register(zdev, &raw mut pci_root_ops) };
        if rc == 0 {
            // SAFETY: `zdev` is not yet shared: its kref starts at one (`kref_init()`), then
            // it is published on `zpci_list` under `zpci_list_lock`.
            unsafe { bindings::refcount_set(&raw mut (*zdev).kref.refcount, 1) };
            // SAFETY: `zdev->entry` is unlinked (new function); the list lock is held in `f`.
            ar.with_list(|list| unsafe { bindings::list_add_tail(&raw mut (*zdev).entry, list) });
            return 0;
        }
        // SAFETY: Undo `zpci_init_iommu()`.
        unsafe { bindings::zpci_destroy_iommu(zdev) };
    }
    zpci_dbg!(0, c"add fid:%x, rc:%d\n", fid, rc);
    rc
}
crate::c_glue::c_prototype!(zr_zpci_add_device);

/// Livepatch replacement of `int zpci_bus_scan_device(struct zpci_dev *zdev)`: make a newly
/// configured function (slot power-on, 0x301) a `pci_dev`.
///
/// 7.3.4 enables the function and scans it (`pci_scan_single_device()`) without the
/// rescan/remove lock and takes the lock only to add the device; a bus rescan in between finds
/// the enabled function too, and the two scans register the same device twice (the reference's
/// F3: "proc_dir_entry '...' already registered", a WARNING in `proc_register()`, seen by
/// `zr_power_race` on the stock kernel). Here the lock covers enable, scan and add; the callers
/// hold at most `zdev->state_lock`, which is ordered before it.
///
/// # Safety
///
/// `zdev` is a live function on a zbus with a PCI bus.
#[no_mangle]
pub(crate) unsafe extern "C" fn zr_zpci_bus_scan_device(zdev: *mut bindings::zpci_dev) -> c_int {
    // SAFETY: By the safety requirements.
    let Some(zdev) = (unsafe { Zdev::from_raw(zdev) }) else {
        return ENODEV.to_errno();
    };
    let _rescan = RescanRemoveLock::lock();
    // SAFETY: A live function on a zbus with a bus, as the original requires.
    let rc = unsafe { zpci_bus_prepare_device(zdev.as_ptr()) };
    if rc != 0 {
        return rc;
    }
    // SAFETY: The function is live; `devfn` is set at creation (below 256 on zPCI).
    let Ok(devfn) = c_int::try_from(unsafe { (*zdev.as_ptr()).devfn }) else {
        return ENODEV.to_errno();
    };
    // SAFETY: The function's live root bus and its slot; the rescan/remove lock is held.
    let pdev = unsafe { bindings::pci_scan_single_device(zdev.pci_bus(), devfn) };
    if pdev.is_null() {
        return ENODEV.to_errno();
    }
    // SAFETY: `pdev` was just scanned (or found) on the bus, under the lock.
    unsafe { bindings::pci_bus_add_device(pdev) };
    0
}
crate::c_glue::c_prototype!(zr_zpci_bus_scan_device);

/// Livepatch replacement of `void zpci_bus_remove_device(struct zpci_dev *zdev, bool
/// set_error)`, the removal behind a deconfigure request (0x303), a hard deconfigure (0x304),
/// slot power-off and s390 error recovery.
///
/// 7.3.4 releases the driver inside `pci_stop_and_remove_bus_device_locked()`, with the
/// rescan/remove lock held: it waits for `device_lock(pdev)` under that lock. A task that holds
/// `device_lock(pdev)` and then takes the rescan/remove lock (an unbind or `rmmod` of a PF driver
/// disabling SR-IOV, whose VF removal runs under the lock) closes an AB-BA cycle (the reference's
/// S5). As `remove_store()` (Ionut Nechita's patch 2), the function is marked dead and its driver
/// released first, outside the rescan/remove lock; the removal proper then finds no driver. The
/// caller holds `zdev->state_lock`, and state_lock → device_lock is the order the error handler
/// already uses.
///
/// # Safety
///
/// `zdev` is a live function, its `state_lock` held by the caller.
#[no_mangle]
pub(crate) unsafe extern "C" fn zr_zpci_bus_remove_device(
    zdev: *mut bindings::zpci_dev,
    set_error: bool,
) {
    // SAFETY: By the safety requirements.
    if let Some(zdev) = unsafe { Zdev::from_raw(zdev) } {
        bus_remove_device(&zdev, set_error, Release::First);
    }
}
crate::c_glue::c_prototype!(zr_zpci_bus_remove_device);

/// Whether [`bus_remove_device`] releases the driver before taking the rescan/remove lock.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Release {
    /// Release it first (the caller holds no rescan/remove lock).
    First,
    /// The caller released it already, then took the rescan/remove lock.
    Done,
}

/// The body of [`zr_zpci_bus_remove_device`].
fn bus_remove_device(zdev: &Zdev, set_error: bool, release: Release) {
    let pdev = zdev.get_pci_dev();
    if pdev.is_null() {
        return;
    }
    // SAFETY: `pdev` is held by the reference `get_pci_dev()` took, dropped here.
    unsafe {
        if set_error {
            (*pdev).error_state = bindings::pci_channel_io_perm_failure;
        }
        if (*pdev).is_virtfn() != 0 {
            // Under the lock, and only while the VF is registered: a removal of its PF (sysfs
            // `remove`, `recover`, which remove the VFs first) may have taken it meanwhile, and
            // with it the VF's reference on the PF that `zpci_iov_remove_virtfn()` follows
            // (`pdev->physfn`). The lock nests where the caller holds it (`Release::Done`).
            let _rescan = RescanRemoveLock::lock();
            if remove::pci_dev_is_added(pdev) {
                bindings_extra::zpci_iov_remove_virtfn(pdev, c_int::from((*zdev.as_ptr()).vfn));
            }
        } else {
            if release == Release::First {
                remove::release_for_removal(pdev);
            }
            bindings::pci_stop_and_remove_bus_device_locked(pdev);
        }
        bindings::pci_dev_put(pdev);
    }
}

/// Livepatch replacement of `int zpci_deconfigure_device(struct zpci_dev *zdev)`: remove the
/// function from the PCI core, disable it and give it back to the platform (SCLP deconfigure),
/// behind a deconfigure request (0x303, QMP `device_del`) and slot power-off.
///
/// 7.3.4 holds the rescan/remove lock only around the removal: a bus rescan between the
/// removal and the disable finds the still enabled function and adds a new `pci_dev` for it,
/// which the deconfigure then pulls the function from under; the platform's unplug never
/// completes (found by the S1 race test: `device_del` gets no `DEVICE_DELETED`). Here the
/// rescan/remove lock covers removal and disable, so a rescan sees the function either enabled
/// and present or disabled, and a disabled function answers no config access, so no scan finds
/// it. The SCLP deconfigure, a firmware call, runs after the lock is dropped, under `state_lock`
/// only, as in 7.3.4. The driver is released before the lock, as in
/// [`zr_zpci_bus_remove_device`].
///
/// # Safety
///
/// `zdev` is a live function, its `state_lock` held by the caller.
#[no_mangle]
pub(crate) unsafe extern "C" fn zr_zpci_deconfigure_device(zdev: *mut bindings::zpci_dev) -> c_int {
    // SAFETY: By the safety requirements.
    let Some(zdev) = (unsafe { Zdev::from_raw(zdev) }) else {
        return 0;
    };
    let z = zdev.as_ptr();
    // `lockdep_assert_held(&zdev->state_lock)`, as in 7.3.4.
    // SAFETY: `state_lock` is an initialised mutex of a live function.
    unsafe { bindings::mutex_assert_is_held(&raw mut (*z).state_lock) };
    // SAFETY: `state` is written under `state_lock`, which the caller holds.
    if unsafe { (*z).state } != bindings::zpci_state_ZPCI_FN_STATE_CONFIGURED {
        return 0;
    }
    let pdev = zdev.get_pci_dev();
    if !pdev.is_null() {
        // SAFETY: `pdev` is held by the reference `get_pci_dev()` took, dropped here.
        unsafe {
            if (*pdev).is_virtfn() == 0 {
                remove::release_for_removal(pdev);
            }
            bindings::pci_dev_put(pdev);
        }
    }
    {
        let _rescan = RescanRemoveLock::lock();
        // Without a scanned bus this finds nothing, as 7.3.4's `if (zdev->zbus->bus)` skips it.
        bus_remove_device(&zdev, false, Release::Done);
        if zdev.enabled() {
            // SAFETY: The function is live; its state is protected by the caller's `state_lock`.
            let rc = unsafe { bindings::zpci_disable_device(z) };
            if rc != 0 {
                return rc;
            }
        }
    }
    // SAFETY: As above; `fid` is constant.
    let fid = unsafe { (*z).fid };
    // SAFETY: An SCLP call for a function this kernel owns.
    let rc = unsafe { bindings::sclp_pci_deconfigure(fid) };
    zpci_dbg!(3, c"deconf fid:%x, rc:%d\n", fid, rc);
    if rc != 0 {
        return rc;
    }
    // SAFETY: `state` is written under `state_lock`, which the caller holds.
    unsafe { (*z).state = bindings::zpci_state_ZPCI_FN_STATE_STANDBY };
    0
}
crate::c_glue::c_prototype!(zr_zpci_deconfigure_device);

/// `_do_recover()` of arch/s390/pci/pci_sysfs.c (inlined into `recover_store()` in 7.3.4).
///
/// # Safety
///
/// `pdev` is live and added, `zdev` its function; the caller holds `zdev->state_lock` and the
/// rescan/remove lock (`_rescan`).
unsafe fn do_recover(
    pdev: *mut bindings::pci_dev,
    zdev: &Zdev,
    _rescan: &RescanRemoveGuard,
) -> c_int {
    // SAFETY: By the safety requirements (the removal asserts the rescan/remove lock, which
    // `zpci_iov_remove_virtfn()` takes again, nested).
    unsafe {
        if (*pdev).is_virtfn() != 0 {
            // A VF goes the way its PF removes it (`pci_iov_remove_virtfn()`: the PF's virtfnN
            // link, the VF's physfn link and reference), as in `zpci_bus_remove_device()`.
            // 7.3.4 removes it as a plain function and leaves the PF's link: the rescan then
            // cannot link the new VF ("cannot create duplicate filename .../virtfnN"), which
            // stays a function of its own to Linux, not a VF of its PF.
            bindings_extra::zpci_iov_remove_virtfn(pdev, c_int::from((*zdev.as_ptr()).vfn));
        } else {
            bindings::pci_stop_and_remove_bus_device(pdev);
        }
    }
    if zdev.enabled() {
        // SAFETY: The function is live; its state is protected by the held `state_lock`.
        let ret = unsafe { bindings::zpci_disable_device(zdev.as_ptr()) };
        // A z/VM vs LPAR inconsistency in the error state: the handle may say enabled while
        // disable reports the function already disabled; not an error (as 7.3.4).
        if ret != 0 && ret != EINVAL.to_errno() {
            return ret;
        }
    }
    // SAFETY: As above.
    unsafe { bindings::zpci_reenable_device(zdev.as_ptr()) }
}

/// Livepatch replacement of the s390 sysfs `recover` attribute's store (`recover_store()`,
/// arch/s390/pci/pci_sysfs.c): reset a function and probe it again.
///
/// Three changes to 7.3.4:
///
/// * A VF is removed as a VF (see [`do_recover`]), so the rescan links the new one to its PF.
/// * The driver is released before the rescan/remove lock (as in
///   [`zr_zpci_bus_remove_device`]), so `recover` never waits for a device lock while holding
///   it; the old `pci_dev` is marked dead so nothing binds it again (the rescan creates a new
///   one).
/// * The attribute's active protection is restored on every path, the early return for a
///   function no longer configured included (the reference's F1, a bug of Block's v4 port).
///
/// # Safety
///
/// Called by sysfs for the `recover` attribute of a zPCI `pci_dev`: `dev` is embedded in a live
/// `struct pci_dev`, `attr` is the attribute.
#[no_mangle]
pub(crate) unsafe extern "C" fn zr_recover_store(
    dev: *mut bindings::device,
    attr: *mut bindings::device_attribute,
    _buf: *const c_char,
    count: usize,
) -> isize {
    // SAFETY: `dev` is the `dev` field of a `struct pci_dev` (a PCI device attribute).
    let pdev = unsafe { container_of!(dev, bindings::pci_dev, dev) };
    // Keep the device (and so its function) alive across the removal below, and let the removal
    // drain this attribute without waiting for this very store (as in 7.3.4).
    // SAFETY: `dev` and `attr` are the attribute's device and descriptor.
    let kn = unsafe {
        bindings::sysfs_break_active_protection(&raw mut (*dev).kobj, &raw const (*attr).attr)
    };
    if kn.is_null() {
        // The attribute is gone already: a concurrent `recover` or removal deletes the device.
        // Going on would mean waiting for locks while still holding this store's active
        // reference, which that removal's drain waits for (the cycle `zr_remove_store()`
        // describes).
        return ENODEV.to_errno() as isize;
    }
    // SAFETY: `pdev` is a live zPCI device, pinned by the protection break (a kobject reference).
    let ret = match unsafe { Zdev::of_pci_dev(pdev) } {
        Some(zdev) => recover_locked(dev, attr, pdev, &zdev),
        None => ENODEV.to_errno(),
    };
    if !kn.is_null() {
        // SAFETY: Balances the break above, on every path.
        unsafe { bindings::sysfs_unbreak_active_protection(kn) };
    }
    if ret != 0 {
        ret as isize
    } else {
        count as isize
    }
}
crate::c_glue::c_prototype!(zr_recover_store);

/// The locked part of [`zr_recover_store`]; every guard is dropped when it returns.
fn recover_locked(
    dev: *mut bindings::device,
    attr: *mut bindings::device_attribute,
    pdev: *mut bindings::pci_dev,
    zdev: &Zdev,
) -> c_int {
    // The function must be configured and stay so.
    let state = zdev.lock_state();
    if state.state() != bindings::zpci_state_ZPCI_FN_STATE_CONFIGURED {
        return 0;
    }
    // The attribute goes first: a second removal is a no-op, which serialises concurrent
    // `recover` writes (all but the first find the old device removed). But only while the
    // device is registered: a concurrent `recover` (or `remove`) may have deleted it, and with
    // it its sysfs directory, while this store waited for `state_lock`; removing a file of a
    // deleted device warns (`kernfs: can not remove 'recover', no directory`, F1, which stock
    // `recover_store()` shows and the first version of this replacement kept: 5 WARNINGs in
    // 1283 operations of the long s390x torture). The rescan/remove lock keeps the device
    // registered from the check to the removal; every remover deletes devices under it.
    let added = {
        let _rescan = RescanRemoveLock::lock();
        // SAFETY: `pdev` is pinned by the caller.
        let added = unsafe { remove::pci_dev_is_added(pdev) };
        if added {
            // SAFETY: `dev`, `attr` as the store got them; `dev` is registered (checked under
            // the lock every remover holds).
            unsafe { bindings::device_remove_file(dev, attr) };
        }
        added
    };
    if added {
        // SAFETY: As above; under `state_lock`, before the rescan/remove lock.
        unsafe { remove::release_for_removal(pdev) };
    }
    let rescan = RescanRemoveLock::lock();
    let mut ret = 0;
    // SAFETY: `pdev` is pinned by the caller.
    if unsafe { remove::pci_dev_is_added(pdev) } {
        // SAFETY: `pdev` is added, `zdev` its function; `state_lock` and the rescan/remove lock
        // are held.
        ret = unsafe { do_recover(pdev, zdev, &rescan) };
    }
    // SAFETY: The function's root bus, live while the function is; the lock is held.
    unsafe { bindings::pci_rescan_bus(zdev.pci_bus()) };
    drop(rescan);
    drop(state);
    ret
}
