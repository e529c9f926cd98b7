// SPDX-License-Identifier: GPL-2.0

//! `/sys/kernel/debug/zpci_rrlock/rescan_lock` (root only, read only): the state of the
//! rescan/remove lock.
//!
//! ```text
//! owner: free | pid N (comm)
//! depth: N        (nesting depth of the owner, when the reader is the owner; else "-")
//! nested_total: N (nested acquisitions since load, counted at the outermost release)
//! max_depth: N    (likewise)
//! ```

use crate::rescan_lock::{
    RescanRemoveLock,
    STATS, //
};
use core::fmt;
use kernel::{
    debugfs::{
        Dir,
        File, //
    },
    prelude::*,
    sync::{
        atomic::Relaxed,
        rcu, //
    }, //
};

/// The state shown by the file; formats the live values on every read.
struct LockState;

impl fmt::Debug for LockState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        {
            let _rcu = rcu::read_lock();
            let owner = RescanRemoveLock::owner();
            if owner.is_null() {
                writeln!(f, "owner: free")?;
            } else {
                // SAFETY: A task_struct is freed only after an RCU grace period, and we are in an
                // RCU read-side section: the owner read from the mutex stays readable even if it
                // releases the lock and exits meanwhile (as mutex_spin_on_owner() relies on).
                // `comm` is a NUL-padded `[c_char; 16]`; read it as bytes (c_char is u8 on s390x,
                // i8 on x86_64).
                let (pid, comm) = unsafe {
                    (
                        (*owner).pid,
                        (&raw const (*owner).comm).cast::<[u8; 16]>().read(),
                    )
                };
                let len = comm.iter().position(|&c| c == 0).unwrap_or(comm.len());
                let name = core::str::from_utf8(&comm[..len]).unwrap_or("?");
                writeln!(f, "owner: pid {pid} ({name})")?;
            }
        }
        match RescanRemoveLock::depth_of_current() {
            Some(d) => writeln!(f, "depth: {d}")?,
            None => writeln!(f, "depth: -")?,
        }
        writeln!(f, "nested_total: {}", STATS.nested.load(Relaxed))?;
        write!(f, "max_depth: {}", STATS.max_depth.load(Relaxed))
    }
}

/// The debugfs directory and its file; removed on drop.
pub(crate) struct View {
    _file: Pin<KBox<File<LockState>>>,
    _dir: Dir,
}

impl View {
    pub(crate) fn new() -> Result<Self> {
        let dir = Dir::new(c"zpci_rrlock");
        let file = KBox::pin_init(dir.read_only_file(c"rescan_lock", LockState), GFP_KERNEL)?;
        Ok(View {
            _file: file,
            _dir: dir,
        })
    }
}
