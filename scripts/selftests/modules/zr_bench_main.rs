// SPDX-License-Identifier: GPL-2.0

//! Rescan/remove lock benchmark (`make bench`, scripts/zr bench): times `n` lock/unlock pairs of
//! each kind, `rounds` times, interleaved, and prints the fastest round of each kind as
//! picoseconds per pair:
//!
//! * `outer`: `pci_lock_rescan_remove()` + `pci_unlock_rescan_remove()` with the lock free, through
//!   whatever those functions are now (stock, or the zpci_rrlock replacements);
//! * `redirect`: `pcibios_sriov_enable()` + `pcibios_sriov_disable()`, two functions that do
//!   nothing; zr_bench_redirect livepatches them with replacements that do nothing, so with it
//!   loaded this is the cost of two livepatch redirects;
//! * `nested` (`nested=1`, only with zpci_rrlock enabled): the same pairs while the task already
//!   holds the lock;
//! * `direct`, `direct_nested` (with `nested=1`): the zpci_rrlock replacements called directly,
//!   outermost and nested: the lock's own cost without the redirect;
//! * `c_outer`, `c_nested`: the C floor (zr_bench_glue.c), the same algorithm written in C on a
//!   mutex of its own, outermost and nested.
//!
//! Under QEMU's `-icount shift=0,sleep=off` (the bench machines) a nanosecond is one guest
//! instruction, so a figure is instructions per pair, times 1000.
//!
//! The module does its work in init and stays loaded doing nothing; rmmod it before the next run.

use kernel::{
    bindings,
    prelude::*,
    time::{
        Instant,
        Monotonic, //
    }, //
};

module! {
    type: ZrBench,
    name: "zr_bench",
    authors: ["zpci-rrlock developers"],
    description: "Times PCI rescan/remove lock pairs and livepatch redirects",
    license: "GPL",
    params: {
        n: u32 {
            default: 100000,
            description: "Pairs per round (1000..=10000000)",
        },
        rounds: u32 {
            default: 7,
            description: "Rounds per kind (1..=50); the fastest is reported",
        },
        nested: bool {
            default: false,
            description: "Also time nested pairs (requires the zpci_rrlock livepatch)",
        },
    },
}

fn outer_pair() {
    // SAFETY: Process context; the pair is balanced on this task.
    unsafe {
        bindings::pci_lock_rescan_remove();
        bindings::pci_unlock_rescan_remove();
    }
}

extern "C" {
    fn zr_c_lock();
    fn zr_c_unlock();
}

fn c_pair() {
    // SAFETY: Process context; the pair is balanced on this task.
    unsafe {
        zr_c_lock();
        zr_c_unlock();
    }
}

fn redirect_pair() {
    // SAFETY: The weak defaults (s390x, x86_64) and zr_bench_redirect's replacements ignore the
    // device and return 0.
    unsafe {
        bindings::pcibios_sriov_enable(core::ptr::null_mut(), 0);
        bindings::pcibios_sriov_disable(core::ptr::null_mut());
    }
}

/// Times `n` pairs; nanoseconds.
fn time(pair: impl Fn(), n: u32) -> u64 {
    let start = Instant::<Monotonic>::now();
    for _ in 0..n {
        pair();
    }
    start.elapsed().as_nanos().max(0) as u64
}

/// The zpci_rrlock replacements of pci_lock_rescan_remove() and pci_unlock_rescan_remove(), if
/// that module is loaded, to be called directly (without the livepatch redirect).
fn rrlock_functions() -> Option<(extern "C" fn(), extern "C" fn())> {
    let find = |name: &CStr| {
        // SAFETY: A NUL-terminated name; kallsyms lookups are fine in process context.
        let addr = unsafe { bindings::kallsyms_lookup_name(name.as_char_ptr()) };
        // SAFETY: A non-zero address of these two names is a `void (void)` function of
        // zpci_rrlock (rust/rescan_lock.rs); zr_bench calls it only from this init, while the
        // test script keeps zpci_rrlock loaded.
        (addr != 0).then(|| unsafe { core::mem::transmute::<usize, extern "C" fn()>(addr) })
    };
    Some((
        find(c"zr_pci_lock_rescan_remove")?,
        find(c"zr_pci_unlock_rescan_remove")?,
    ))
}

struct ZrBench;

impl kernel::Module for ZrBench {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let n = module_parameters::n.value();
        let rounds = module_parameters::rounds.value();
        let nested = module_parameters::nested.value();
        if !(1000..=10_000_000).contains(&n) || !(1..=50).contains(&rounds) {
            pr_err!(
                "n={} (1000..=10000000) or rounds={} (1..=50) out of range\n",
                n,
                rounds
            );
            return Err(EINVAL);
        }
        let rr = rrlock_functions();
        if nested && rr.is_none() {
            pr_err!("nested=1 needs the zpci_rrlock livepatch (a stock kernel would deadlock)\n");
            return Err(EINVAL);
        }
        // Fastest round of each kind, in nanoseconds.
        let mut best = [u64::MAX; 7];
        for _ in 0..rounds {
            best[0] = best[0].min(time(outer_pair, n));
            best[1] = best[1].min(time(redirect_pair, n));
            best[5] = best[5].min(time(c_pair, n));
            // SAFETY: Balanced below; the C floor nests for its owner.
            unsafe { zr_c_lock() };
            best[6] = best[6].min(time(c_pair, n));
            // SAFETY: The acquisition above.
            unsafe { zr_c_unlock() };
            if let (true, Some((lock, unlock))) = (nested, rr) {
                // The replacements called directly: the lock's own cost, no redirect.
                best[3] = best[3].min(time(
                    || {
                        lock();
                        unlock()
                    },
                    n,
                ));
                // SAFETY: Balanced below; the pairs inside nest (checked: zpci_rrlock loaded).
                unsafe { bindings::pci_lock_rescan_remove() };
                best[2] = best[2].min(time(outer_pair, n));
                best[4] = best[4].min(time(
                    || {
                        lock();
                        unlock()
                    },
                    n,
                ));
                // SAFETY: The outer acquisition above.
                unsafe { bindings::pci_unlock_rescan_remove() };
            }
        }
        let (outer, redirect, nested_ns) = (best[0], best[1], best[2]);
        let report = |kind: &str, ns: u64| {
            // Picoseconds per pair: the fastest round's time over its n pairs.
            let ps = ns
                .saturating_mul(1000)
                .checked_div(u64::from(n))
                .unwrap_or(0);
            pr_info!(
                "result kind={} n={} rounds={} ps_per_pair={}\n",
                kind,
                n,
                rounds,
                ps
            );
        };
        report("outer", outer);
        report("redirect", redirect);
        report("c_outer", best[5]);
        report("c_nested", best[6]);
        if nested {
            report("nested", nested_ns);
            report("direct", best[3]);
            report("direct_nested", best[4]);
        }
        Ok(ZrBench)
    }
}
