/* SPDX-License-Identifier: GPL-2.0 */
/* Symbols shared by zr_bench_redirect's glue and its Rust crate. */
#ifndef ZR_BENCH_REDIRECT_H
#define ZR_BENCH_REDIRECT_H

#include <linux/types.h>

struct pci_dev;

/* Defined in Rust: the no-op replacements. */
int zr_bench_sriov_enable(struct pci_dev *pdev, u16 num_vfs);
int zr_bench_sriov_disable(struct pci_dev *pdev);
/* Defined in C: klp_enable_patch() on the module's patch. */
int zr_bench_redirect_enable(void);

#endif /* ZR_BENCH_REDIRECT_H */
