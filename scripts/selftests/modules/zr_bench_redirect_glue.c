// SPDX-License-Identifier: GPL-2.0
/* Livepatch tables of zr_bench_redirect (see zr_bench_redirect_main.rs). */
#include <linux/livepatch.h>
#include <linux/module.h>

#include "zr_bench_redirect.h"

static struct klp_func zr_bench_funcs[] = {
	{ .old_name = "pcibios_sriov_enable", .new_func = zr_bench_sriov_enable },
	{ .old_name = "pcibios_sriov_disable", .new_func = zr_bench_sriov_disable },
	{ }
};

static struct klp_object zr_bench_objs[] = {
	{ .funcs = zr_bench_funcs },	/* name NULL: vmlinux */
	{ }
};

static struct klp_patch zr_bench_patch = {
	.mod = THIS_MODULE,
	.objs = zr_bench_objs,
};

/* Called from the Rust module's init. */
int zr_bench_redirect_enable(void)
{
	return klp_enable_patch(&zr_bench_patch);
}

MODULE_INFO(livepatch, "Y");
