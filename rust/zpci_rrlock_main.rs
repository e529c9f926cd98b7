// SPDX-License-Identifier: GPL-2.0

//! zpci-rrlock: remove the PCI rescan/remove deadlocks of Linux on s390 from a running kernel.
//!
//! A kernel livepatch, written in Rust, that makes the PCI core's rescan/remove lock reentrant
//! and reorders the s390 zPCI bus and device release paths so that no recursive or AB-BA lock
//! cycle remains. See `Documentation/` for the design and the scenarios it fixes.

use kernel::prelude::*;

mod bindings_extra;
mod c_glue;
mod debugfs;
mod identity;
mod layout;
mod livepatch;
mod pci;
#[cfg(CONFIG_HOTPLUG_PCI_PCIE)]
mod pciehp;
mod remove;
mod rescan_lock;
mod sriov;
mod sysfs;
#[cfg(CONFIG_S390)]
mod zpci;

module! {
    type: ZpciRrLock,
    name: "zpci_rrlock",
    authors: ["zpci-rrlock developers"],
    description: "Reentrant PCI rescan/remove lock and s390 zPCI release fixes (livepatch)",
    license: "GPL",
}

struct ZpciRrLock {
    _debugfs: debugfs::View,
}

impl kernel::Module for ZpciRrLock {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        identity::check()?;
        layout::check()?;
        rescan_lock::init_current()?;
        livepatch::enable()?;
        let view = debugfs::View::new()?;
        pr_info!("loaded\n");
        Ok(ZpciRrLock { _debugfs: view })
    }
}

impl Drop for ZpciRrLock {
    fn drop(&mut self) {
        pr_info!("unloaded\n");
    }
}
