/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Symbols shared between the C glue of zpci_rrlock and its Rust crate, declared once: the
 * extra bindgen run reads this header (bindings_extra.h), so the Rust side uses the C-defined
 * symbols through these declarations (rust/c_glue.rs), and every Rust-defined function, a
 * `#[no_mangle] extern "C"` function of the crate, is checked against its prototype here at
 * compile time (c_prototype!).
 */
#ifndef ZR_GLUE_H
#define ZR_GLUE_H

#include <linux/types.h>

struct device;
struct device_attribute;
struct pci_dev;
struct klp_func;
struct klp_object;
struct zpci_dev;
struct controller;

/* Defined in C. */
extern const char *const zr_built_release;
extern const char *const zr_built_version;
extern const char *const zr_built_build_id;
extern struct klp_func zr_vmlinux_funcs[];
extern const unsigned long zr_vmlinux_sizes[];
extern const unsigned int zr_vmlinux_nfuncs;
extern const size_t zr_sizeof_pci_sriov;
#ifdef CONFIG_HOTPLUG_PCI_PCIE
extern const size_t zr_sizeof_controller;
#endif
#ifdef CONFIG_S390
extern const size_t zr_sizeof_zpci_dev;
extern const size_t zr_sizeof_zpci_bus;
#endif
int zr_enable_patch(void);
#ifdef CONFIG_S390
const u64 *zr_lowcore_current_task(void);
#endif

/* Defined in Rust. */
void zr_pci_lock_rescan_remove(void);
void zr_pci_unlock_rescan_remove(void);
void zr_pre_unpatch(struct klp_object *obj);
ssize_t zr_remove_store(struct device *dev, struct device_attribute *attr, const char *buf,
			size_t count);
int zr_sriov_enable(struct pci_dev *dev, int nr_virtfn);
void zr_sriov_disable(struct pci_dev *dev);
ssize_t zr_sriov_numvfs_store(struct device *dev, struct device_attribute *attr, const char *buf,
			      size_t count);

#ifdef CONFIG_HOTPLUG_PCI_PCIE
int zr_pciehp_configure_device(struct controller *ctrl);
void zr_pciehp_unconfigure_device(struct controller *ctrl, bool presence);
#endif
#ifdef CONFIG_S390
void zr_zpci_zdev_put(struct zpci_dev *zdev);
int zr_zpci_add_device(struct zpci_dev *zdev);
int zr_zpci_bus_scan_device(struct zpci_dev *zdev);
void zr_zpci_bus_remove_device(struct zpci_dev *zdev, bool set_error);
int zr_zpci_deconfigure_device(struct zpci_dev *zdev);
void zr_zpci_remove_reserved_devices(void);
ssize_t zr_recover_store(struct device *dev, struct device_attribute *attr, const char *buf,
			 size_t count);
#endif

#endif /* ZR_GLUE_H */
