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
#ifdef CONFIG_HOTPLUG_PCI_PCIE
/* pciehp's private header: struct controller (and portdrv.h's struct pcie_device). */
#include <../drivers/pci/hotplug/pciehp.h>
#endif
#ifdef CONFIG_S390
/* arch/s390/pci private headers: zpci_release_device(), zpci_bus_device_register(), ... */
#include <../arch/s390/pci/pci_bus.h>
#include <../arch/s390/pci/pci_iov.h>
#endif
/* The C glue's symbols and the prototypes of the Rust functions it uses (rust/c_glue.rs). */
#include "zr_glue.h"
