// SPDX-License-Identifier: GPL-2.0

//! SR-IOV VF add/del under the rescan/remove lock (drivers/pci/iov.c).
//!
//! In 7.3.4 the VFs of a PF are created (`sriov_add_vfs()`) and removed (`sriov_del_vfs()`)
//! without the rescan/remove lock, so they race platform hot-unplug and removal: a VF can be
//! removed twice, and `pci_stop_and_remove_bus_device()` runs without the lock it asserts. The
//! only lock on the way is the pair `sriov_numvfs_store()` takes around `->sriov_configure()`,
//! under `device_lock(PF)`, which orders device_lock(PF) before the rescan/remove lock and
//! closes an AB-BA cycle with every remover (the reference's S4); a driver's `.remove` disabling
//! SR-IOV (unbind, rmmod) takes no lock at all.
//!
//! The fix (Ionut Nechita's series, v10 onwards, on top of the reentrant lock):
//!
//! * `sriov_add_vfs()` takes the lock after the `no_vf_scan` early return (s390 platforms
//!   create VFs themselves) around the `pci_iov_add_virtfn()` loop and its unwinding;
//! * `sriov_del_vfs()` runs the whole `pci_iov_remove_virtfn()` loop under the lock;
//! * `sriov_numvfs_store()` takes it no more.
//!
//! Both helpers are static and inlined into `sriov_enable()` / `sriov_disable()` in 7.3.4 (see
//! Documentation/rescan-lock.rst), so those two are replaced whole; every other line is the
//! 7.3.4 original. Callers that already hold the lock (`remove`, `recover`, hot-unplug reaching a
//! PF driver's `.remove`) nest, which the reentrant lock allows.

use crate::{
    bindings_extra,
    pci,
    rescan_lock::RescanRemoveLock,
    sysfs::{
        self,
        ActiveProtectionBreak, //
    }, //
};
use kernel::{
    bindings,
    container_of,
    device::Device,
    prelude::*, //
};

/// VF Enable and VF Memory Space Enable of the SR-IOV control register.
const CTRL_VFE_MSE: u16 = (bindings::PCI_SRIOV_CTRL_VFE | bindings::PCI_SRIOV_CTRL_MSE) as u16;

/// A PF with its SR-IOV state.
///
/// # Invariants
///
/// `dev` is a live `struct pci_dev` that is a physical function (`is_physfn`), so `iov` is its
/// `sriov` member, valid as long as `dev`; the caller of the replaced function holds the PF as
/// the PCI core does (a device reference and `device_lock(PF)` or the rescan/remove lock), which
/// serialises writes to `*iov`.
struct Pf {
    dev: *mut bindings::pci_dev,
    iov: *mut bindings_extra::pci_sriov,
}

impl Pf {
    /// # Safety
    ///
    /// `dev` is a live PF, held as the type invariant describes for the lifetime of the value.
    unsafe fn new(dev: *mut bindings::pci_dev) -> Self {
        // SAFETY: `dev` is live; for a PF the anonymous union holds `sriov`.
        let iov = unsafe { (*dev).__bindgen_anon_1.sriov }.cast::<bindings_extra::pci_sriov>();
        // INVARIANT: By the safety requirements.
        Pf { dev, iov }
    }

    /// Runs `f` on the PF's SR-IOV state. The state is shared with C code, so the reference
    /// lives only for the call, and `f` calls nothing that could reach the state again.
    fn with_iov<R>(&self, f: impl FnOnce(&mut bindings_extra::pci_sriov) -> R) -> R {
        // SAFETY: By the type invariant `iov` is valid and its writers are serialised by the
        // caller's locks; the reference does not escape `f`.
        f(unsafe { &mut *self.iov })
    }

    /// The PF as a driver-core device, for messages.
    fn device(&self) -> &Device {
        // SAFETY: `dev` is live (type invariant); its embedded `struct device` too.
        unsafe { Device::from_raw(&raw mut (*self.dev).dev) }
    }

    /// Reads a 16-bit register of the SR-IOV capability at `off`.
    fn read16(&self, off: u32) -> u16 {
        let mut v: u16 = 0;
        // SAFETY: `dev` is live; `v` is a local. A failed read leaves 0, as in C (~0 on error is
        // handled by the accessors themselves).
        unsafe { bindings::pci_read_config_word(self.dev, self.pos(off), &mut v) };
        v
    }

    /// Writes a 16-bit register of the SR-IOV capability at `off`.
    fn write16(&self, off: u32, v: u16) {
        // SAFETY: `dev` is live.
        unsafe { bindings::pci_write_config_word(self.dev, self.pos(off), v) };
    }

    fn pos(&self, off: u32) -> c_int {
        self.with_iov(|iov| iov.pos) + off as c_int
    }

    /// `pci_iov_set_numvfs()` (static inline in iov.c).
    fn set_numvfs(&self, n: u16) {
        self.write16(bindings::PCI_SRIOV_NUM_VF, n);
        let offset = self.read16(bindings::PCI_SRIOV_VF_OFFSET);
        let stride = self.read16(bindings::PCI_SRIOV_VF_STRIDE);
        self.with_iov(|iov| {
            iov.offset = offset;
            iov.stride = stride;
        });
    }

    /// Writes `ctrl` to the capability with config access blocked, then waits `ms`.
    fn write_ctrl(&self, ms: u32) {
        let ctrl = self.with_iov(|iov| iov.ctrl);
        // SAFETY: `dev` is live; the lock is released below on the same task.
        unsafe { bindings::pci_cfg_access_lock(self.dev) };
        self.write16(bindings::PCI_SRIOV_CTRL, ctrl);
        // SAFETY: Sleeping is allowed: process context, no spinlock held.
        unsafe { bindings::msleep(ms) };
        // SAFETY: Locked above on this task.
        unsafe { bindings::pci_cfg_access_unlock(self.dev) };
    }

    /// Turns VF Enable and VF MSE off and undoes the platform and link setup (the common tail
    /// of `sriov_disable()` and the error path of `sriov_enable()`).
    fn teardown(&self) {
        self.with_iov(|iov| iov.ctrl &= !CTRL_VFE_MSE);
        self.write_ctrl(1000);
        // SAFETY: `dev` is live. The weak default returns 0; its result is ignored, as in C.
        unsafe { bindings::pcibios_sriov_disable(self.dev) };
        self.remove_dep_link();
    }

    fn remove_dep_link(&self) {
        // SAFETY: `dev` is live (reading its devfn).
        if c_uint::from(self.with_iov(|iov| iov.link)) != unsafe { (*self.dev).devfn } {
            // SAFETY: `dev` is live; removing an absent link is harmless.
            unsafe {
                bindings::sysfs_remove_link(
                    &raw mut (*self.dev).dev.kobj,
                    c"dep_link".as_char_ptr(),
                )
            };
        }
    }

    /// `sriov_add_vfs()` of the fix: the VFs are added under the rescan/remove lock.
    fn add_vfs(&self, num_vfs: u16) -> Result {
        // SAFETY: `dev` is live.
        if unsafe { bindings::pci_dev::no_vf_scan_raw(self.dev) } != 0 {
            return Ok(());
        }
        let _guard = RescanRemoveLock::lock();
        for i in 0..c_int::from(num_vfs) {
            // SAFETY: `dev` is a live PF whose VF Enable bit is set; the lock is held.
            let rc = unsafe { bindings::pci_iov_add_virtfn(self.dev, i) };
            if rc != 0 {
                for j in (0..i).rev() {
                    // SAFETY: VF `j` was added above.
                    unsafe { bindings::pci_iov_remove_virtfn(self.dev, j) };
                }
                return Err(Error::from_errno(rc));
            }
        }
        Ok(())
    }

    /// `sriov_del_vfs()` of the fix: the VFs are removed under the rescan/remove lock, their
    /// drivers released before it ([`release_vfs`]).
    fn del_vfs(&self) {
        // SAFETY: `dev` is a live PF (type invariant); no spinlock is held. The caller may hold
        // the rescan/remove lock (a nested removal): then the release waits under it, as 7.3.4.
        unsafe { release_vfs(self.dev) };
        let _guard = RescanRemoveLock::lock();
        for i in 0..c_int::from(self.with_iov(|iov| iov.num_VFs)) {
            // SAFETY: `dev` is a live PF; removing a VF that is already gone is a no-op (the VF
            // is looked up by bus and devfn); the lock is held.
            unsafe { bindings::pci_iov_remove_virtfn(self.dev, i) };
        }
    }

    /// `sriov_enable()` up to the point where the hardware is touched: the checks, the IOV BARs
    /// and the dependency link. Returns the initial VF count.
    fn prepare(&self, nr_virtfn: c_int) -> Result<u16> {
        let (num_vfs, total, cap, iov_nres, link) =
            self.with_iov(|iov| (iov.num_VFs, iov.total_VFs, iov.cap, iov.nres, iov.link));
        if num_vfs != 0 {
            return Err(EINVAL);
        }
        let initial = self.read16(bindings::PCI_SRIOV_INITIAL_VF);
        let vfm = cap & bindings::PCI_SRIOV_CAP_VFM != 0;
        if initial > total || (!vfm && initial != total) {
            return Err(EIO);
        }
        if nr_virtfn < 0
            || nr_virtfn > c_int::from(total)
            || (!vfm && nr_virtfn > c_int::from(initial))
        {
            return Err(EINVAL);
        }

        let mut nres = 0;
        let mut bars: c_int = 0;
        for i in 0..bindings::PCI_SRIOV_NUM_BARS as c_int {
            let idx = i + bindings::PCI_IOV_RESOURCES as c_int;
            // SAFETY: `dev` is live; `idx` is an IOV resource index.
            let vf_bar_sz = unsafe { bindings::pci_iov_resource_size(self.dev, idx) };
            bars |= 1 << idx;
            // SAFETY: `idx` is below PCI_NUM_RESOURCES, within `resource`.
            let res = unsafe { &(*self.dev).resource[idx as usize] };
            let res_size = res.end.wrapping_sub(res.start).wrapping_add(1);
            if vf_bar_sz.wrapping_mul(nr_virtfn as bindings::resource_size_t) > res_size {
                continue;
            }
            if !res.parent.is_null() {
                nres += 1;
            }
        }
        if nres != iov_nres {
            dev_err!(self.device(), "not enough MMIO resources for SR-IOV\n");
            return Err(ENOMEM);
        }

        // SAFETY: `dev` is live; its bus outlives it.
        let (bus, busn_end) = unsafe {
            (
                bindings::pci_iov_virtfn_bus(self.dev, nr_virtfn - 1),
                (*(*self.dev).bus).busn_res.end,
            )
        };
        if bus as bindings::resource_size_t > busn_end {
            dev_err!(
                self.device(),
                "can't enable {} VFs (bus {:02x} out of range, bus end {:02x})\n",
                nr_virtfn,
                bus,
                busn_end
            );
            return Err(ENOMEM);
        }

        // SAFETY: `dev` is live.
        if unsafe { bindings::pci_enable_resources(self.dev, bars) } != 0 {
            dev_err!(self.device(), "SR-IOV: IOV BARS not allocated\n");
            return Err(ENOMEM);
        }

        // SAFETY: `dev` is live (reading its devfn).
        if c_uint::from(link) != unsafe { (*self.dev).devfn } {
            self.link_dependency(link)?;
        }
        Ok(initial)
    }

    /// Links the PF to the function its VFs depend on (`dep_link`).
    fn link_dependency(&self, link: u8) -> Result {
        // SAFETY: `dev` and its bus are live; the reference returned is put below.
        let pdev = unsafe { bindings::pci_get_slot((*self.dev).bus, c_uint::from(link)) };
        if pdev.is_null() {
            return Err(ENODEV);
        }
        // SAFETY: `pdev` is a live device we hold a reference on.
        let rc = if unsafe { bindings::pci_dev::is_physfn_raw(pdev) } == 0 {
            Err(ENOSYS)
        } else {
            // SAFETY: Both kobjects are live.
            kernel::error::to_result(unsafe {
                bindings::sysfs_create_link(
                    &raw mut (*self.dev).dev.kobj,
                    &raw mut (*pdev).dev.kobj,
                    c"dep_link".as_char_ptr(),
                )
            })
        };
        // SAFETY: The reference from `pci_get_slot()`.
        unsafe { bindings::pci_dev_put(pdev) };
        rc
    }

    /// `sriov_enable()` of 7.3.4 with the fixed `sriov_add_vfs()`.
    fn enable(&self, nr_virtfn: c_int) -> Result {
        if nr_virtfn == 0 {
            return Ok(());
        }
        let mut initial = self.prepare(nr_virtfn)?;
        self.with_iov(|iov| iov.initial_VFs = initial);
        // `prepare` checked 0 < nr_virtfn <= total_VFs (a u16).
        let nr = nr_virtfn as u16;
        initial = initial.min(nr);

        // SAFETY: `dev` is live.
        let rc = unsafe { bindings::pcibios_sriov_enable(self.dev, initial) };
        let rc = if rc != 0 {
            dev_err!(
                self.device(),
                "failure {} from pcibios_sriov_enable()\n",
                rc
            );
            Err(Error::from_errno(rc))
        } else {
            self.set_numvfs(nr);
            self.with_iov(|iov| iov.ctrl |= CTRL_VFE_MSE);
            self.write_ctrl(100);
            self.add_vfs(initial)
        };
        match rc {
            Ok(()) => {
                // SAFETY: `dev` is live.
                unsafe {
                    bindings::kobject_uevent(
                        &raw mut (*self.dev).dev.kobj,
                        bindings::kobject_action_KOBJ_CHANGE,
                    )
                };
                self.with_iov(|iov| iov.num_VFs = nr);
                Ok(())
            }
            Err(e) => {
                self.teardown();
                self.set_numvfs(0);
                Err(e)
            }
        }
    }

    /// `sriov_disable()` of 7.3.4 with the fixed `sriov_del_vfs()`.
    fn disable(&self) {
        if self.with_iov(|iov| iov.num_VFs) == 0 {
            return;
        }
        self.del_vfs();
        self.teardown();
        self.with_iov(|iov| iov.num_VFs = 0);
        self.set_numvfs(0);
    }
}

/// Livepatch replacement of `static int sriov_enable(struct pci_dev *dev, int nr_virtfn)`.
///
/// # Safety
///
/// Called by `pci_enable_sriov()` / `pci_sriov_configure_simple()` on a live PF, as in 7.3.4.
#[no_mangle]
pub(crate) unsafe extern "C" fn zr_sriov_enable(dev: *mut bindings::pci_dev, nr: c_int) -> c_int {
    // SAFETY: By the safety requirements (the callers check `dev_is_pf()` first).
    let pf = unsafe { Pf::new(dev) };
    match pf.enable(nr) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}
crate::c_glue::c_prototype!(zr_sriov_enable);

/// Livepatch replacement of `static void sriov_disable(struct pci_dev *dev)`.
///
/// # Safety
///
/// Called by `pci_disable_sriov()` / `pci_sriov_configure_simple()` on a live PF, as in 7.3.4.
#[no_mangle]
pub(crate) unsafe extern "C" fn zr_sriov_disable(dev: *mut bindings::pci_dev) {
    // SAFETY: By the safety requirements (the callers check `dev_is_pf()` first).
    unsafe { Pf::new(dev) }.disable();
}
crate::c_glue::c_prototype!(zr_sriov_disable);

/// Disables SR-IOV of a PF that is about to be removed while its driver left it enabled.
///
/// Some PF drivers leave SR-IOV enabled in `.remove` on purpose, so that the VFs survive an
/// unbind/bind of the PF driver (nvme in 7.3.4: "driver left SR-IOV enabled after remove").
/// When the PF itself is removed (sysfs `remove`) nothing removes its VFs: `pci_stop_bus_device()`
/// only walks a bridge's subordinate bus, and the VFs are siblings of the PF. They stay
/// registered, holding a reference on the removed PF; the rescanned PF clears VF Enable in
/// `sriov_init()`, and its next `sriov_numvfs` registers VFs of the same names: "sysfs: cannot
/// create duplicate filename", a `pci_device_add()` WARNING and an Oops in `kill_device()` on
/// the error path (stock 7.3.4, found by the x86_64 torture; Documentation/torture.rst, F4).
/// Removing the VFs with the PF, as a driver that disables SR-IOV in `.remove` does, closes it.
///
/// The VFs' drivers are released first, each VF marked dead, with no lock held
/// ([`release_vfs`]), before `device_lock(PF)` is taken for the disable.
///
/// # Safety
///
/// `dev` is a live PCI device held by the caller, marked dead and without a driver
/// ([`crate::pci::kill_and_release_driver`]); process context, no device lock held.
pub(crate) unsafe fn disable_left_enabled(dev: *mut bindings::pci_dev) {
    // SAFETY: `dev` is live (safety requirements).
    if unsafe { bindings::pci_dev::is_physfn_raw(dev) } == 0 {
        return;
    }
    // SAFETY: `dev` is a live PF, held by the caller; no lock is held.
    unsafe { release_vfs(dev) };
    // SAFETY: `dev` is live (safety requirements); its device lock is taken as a driver's
    // `.remove` runs (the context `pci_disable_sriov()` is written for).
    let _lock = unsafe { pci::device_lock(&raw mut (*dev).dev) };
    // SAFETY: `dev` is a live PF, held by the caller, and its device lock is held.
    let pf = unsafe { Pf::new(dev) };
    if pf.with_iov(|iov| iov.num_VFs) != 0 {
        dev_warn!(
            pf.device(),
            "zpci_rrlock: removing the VFs the driver left enabled with their PF\n"
        );
        pf.disable();
    }
}

/// Marks every VF of `pf` dead and releases its driver, last VF first (the order
/// `sriov_del_vfs()` removes them in), before the VFs are removed under the rescan/remove lock.
///
/// A VF driver's `.remove` may wait for as long as a user holds the VF: vfio-pci waits for
/// every open file of the device to be closed, asking its user to let go. Done inside the VF
/// removal, under the rescan/remove lock (7.3.4's `remove` of a PF whose driver disables SR-IOV
/// in `.remove`; every VF removal with the upstream fix), that wait holds the lock, and with it
/// every rescan, removal and hot-plug of the system, until the user closes the device. Released
/// first, only the task removing the VFs waits (with the PF's device lock where its caller
/// holds it, as in 7.3.4); the removal under the lock then finds no driver. Without memory for
/// the list nothing is released here, and the removal releases the drivers under the lock, as
/// 7.3.4 does.
///
/// # Safety
///
/// `pf` is a live PF held by the caller; process context.
unsafe fn release_vfs(pf: *mut bindings::pci_dev) {
    // SAFETY: `pf` is a live PF held by the caller (safety requirements).
    let Ok(vfs) = (unsafe { pci::virtfns(pf) }) else {
        return;
    };
    for vf in vfs.iter().rev() {
        // SAFETY: `vf` is held by its reference; process context (safety requirements).
        unsafe { pci::kill_and_release_driver(vf.as_ptr()) };
    }
}

/// Livepatch replacement of `sriov_numvfs_store()`: the 7.3.4 store without its two
/// `pci_lock/unlock_rescan_remove()` pairs (VF add/del take the lock themselves now).
///
/// Beyond the upstream fix, the store breaks its attribute's active protection for its duration,
/// as s390's `recover_store()` does: VF add/del take the rescan/remove lock inside it, and a
/// remover holding that lock drains the PF's attributes in `device_del()`, so with an active
/// reference held the store and the remover would wait for each other (kernfs active reference
/// -> rescan/remove lock -> drain; the reference's S7a, reported by lockdep on the S4 recipe). A
/// device reference keeps the PF alive instead; the device lock still serialises the store
/// against driver release, which every remover does first.
///
/// # Safety
///
/// Called by sysfs for the `sriov_numvfs` attribute of a PF: `dev` is embedded in a live
/// `struct pci_dev`, `buf` is NUL-terminated.
#[no_mangle]
pub(crate) unsafe extern "C" fn zr_sriov_numvfs_store(
    dev: *mut bindings::device,
    attr: *mut bindings::device_attribute,
    buf: *const c_char,
    count: usize,
) -> isize {
    sysfs::store(|| {
        // SAFETY: `buf` is NUL-terminated (sysfs). Any malformed value is `EINVAL`, as in
        // 7.3.4.
        let num_vfs = unsafe { sysfs::parse_u16(buf) }.map_err(|_| EINVAL)?;
        // SAFETY: `dev` is the `dev` field of a live `struct pci_dev` (a PCI device attribute).
        let pdev = unsafe { container_of!(dev, bindings::pci_dev, dev) };
        // SAFETY: `pdev` is live.
        if u32::from(num_vfs) > unsafe { bindings::pci_sriov_get_totalvfs(pdev) } {
            return Err(ERANGE);
        }
        // SAFETY: The store's own device and attribute; the break holds a reference on the
        // device's kobject while it lives.
        let Some(_unprotected) = (unsafe { ActiveProtectionBreak::new(dev, attr) }) else {
            // The attribute is being removed with its device.
            return Err(ENODEV);
        };
        // SAFETY: `dev` is live (referenced by the break), and outlives the guard, dropped
        // before the break.
        let _lock = unsafe { pci::device_lock(dev) };
        // SAFETY: The attribute is visible on PFs only; we hold the device lock.
        unsafe { configure(pdev, num_vfs) }?;
        Ok(count)
    })
}
crate::c_glue::c_prototype!(zr_sriov_numvfs_store);

/// The body of `sriov_numvfs_store()` under `device_lock(PF)`.
///
/// # Safety
///
/// `pdev` is a live PF whose device lock the caller holds.
unsafe fn configure(pdev: *mut bindings::pci_dev, num_vfs: u16) -> Result {
    // SAFETY: By the safety requirements.
    let pf = unsafe { Pf::new(pdev) };
    let cur = pf.with_iov(|iov| iov.num_VFs);
    if num_vfs == cur {
        return Ok(());
    }
    // SAFETY: The device lock keeps the bound driver stable.
    let drv = unsafe { (*pdev).driver };
    if drv.is_null() {
        dev_info!(
            pf.device(),
            "no driver bound to device; cannot configure SR-IOV\n"
        );
        return Err(ENOENT);
    }
    // SAFETY: A bound driver outlives the binding, which the device lock keeps.
    let Some(sriov_configure) = (unsafe { (*drv).sriov_configure }) else {
        dev_info!(
            pf.device(),
            "driver does not support SR-IOV configuration via sysfs\n"
        );
        return Err(ENOENT);
    };
    if num_vfs != 0 && cur != 0 {
        dev_warn!(
            pf.device(),
            "{} VFs already enabled. Disable before enabling {} VFs\n",
            cur,
            num_vfs
        );
        return Err(EBUSY);
    }
    // SAFETY: The driver's callback, called as the PCI core does (device lock held).
    let ret = unsafe { sriov_configure(pdev, c_int::from(num_vfs)) };
    if ret < 0 {
        return Err(Error::from_errno(ret));
    }
    if num_vfs != 0 && ret != c_int::from(num_vfs) {
        dev_warn!(
            pf.device(),
            "{} VFs requested; only {} enabled\n",
            num_vfs,
            ret
        );
    }
    Ok(())
}
