/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vmlinux functions the livepatch replaces, one ZR_FUNC(old, new) each: old is the
 * original's name, new the Rust replacement (declared in zr_glue.h). An X-macro list, read
 * with ZR_FUNC defined by the includer, and so without an include guard:
 *
 * - zr_glue.c builds the klp_func table and the table of expected sizes from it, entry for
 *   entry, so the two cannot disagree on order or count;
 * - Kbuild runs it through the kernel's preprocessor with the tree's configuration to name
 *   the functions whose size zr_expected.h records (scripts/gen-expected.py).
 */
ZR_FUNC(pci_lock_rescan_remove, zr_pci_lock_rescan_remove)
ZR_FUNC(pci_unlock_rescan_remove, zr_pci_unlock_rescan_remove)
ZR_FUNC(remove_store, zr_remove_store)
ZR_FUNC(sriov_enable, zr_sriov_enable)
ZR_FUNC(sriov_disable, zr_sriov_disable)
ZR_FUNC(sriov_numvfs_store, zr_sriov_numvfs_store)
#ifdef CONFIG_HOTPLUG_PCI_PCIE
ZR_FUNC(pciehp_configure_device, zr_pciehp_configure_device)
ZR_FUNC(pciehp_unconfigure_device, zr_pciehp_unconfigure_device)
#endif
#ifdef CONFIG_S390
ZR_FUNC(zpci_zdev_put, zr_zpci_zdev_put)
ZR_FUNC(zpci_add_device, zr_zpci_add_device)
ZR_FUNC(zpci_bus_scan_device, zr_zpci_bus_scan_device)
ZR_FUNC(zpci_bus_remove_device, zr_zpci_bus_remove_device)
ZR_FUNC(zpci_deconfigure_device, zr_zpci_deconfigure_device)
ZR_FUNC(zpci_remove_reserved_devices, zr_zpci_remove_reserved_devices)
ZR_FUNC(recover_store, zr_recover_store)
#endif
