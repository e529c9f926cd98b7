/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Livepatch tables of a klp-convert test module: version_proc_show() (/proc/version) is
 * replaced by ZR_KLP_NEW_FUNC, a Rust function of the module. Included by one glue file per
 * module, which defines ZR_KLP_NEW_FUNC first.
 */
#include <linux/livepatch.h>
#include <linux/module.h>
#include <linux/seq_file.h>

int ZR_KLP_NEW_FUNC(struct seq_file *m, void *v);
int zr_klp_enable(void);

static struct klp_func zr_klp_funcs[] = {
	{
		.old_name = "version_proc_show",
		.new_func = ZR_KLP_NEW_FUNC,
	},
	{ }
};

static struct klp_object zr_klp_objs[] = {
	{
		/* name NULL: vmlinux */
		.funcs = zr_klp_funcs,
	},
	{ }
};

static struct klp_patch zr_klp_patch = {
	.mod = THIS_MODULE,
	.objs = zr_klp_objs,
};

/* Called from the Rust module's init. */
int zr_klp_enable(void)
{
	return klp_enable_patch(&zr_klp_patch);
}

MODULE_INFO(livepatch, "Y");
