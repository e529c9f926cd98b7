/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel headers whose items zpci_rrlock needs beyond the kernel crate's `bindings`.
 * Which items are emitted is listed in bindings_extra.items.
 */
#include <linux/livepatch.h>
#include <linux/pci.h>
#include <linux/utsname.h>
/* The PCI core's private header: pci_rescan_remove_lock, struct pci_sriov, ... */
#include <../drivers/pci/pci.h>
