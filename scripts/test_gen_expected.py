#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Unit tests of scripts/gen-expected.py (run from scripts/: python3 -m unittest test_gen_expected)."""

import os
import tempfile
import unittest

from script_module import load_script

ge = load_script("gen-expected.py")

GLUE = """
struct klp_func f[] = {
	ZR_FUNC(common, zr_common),
#ifdef CONFIG_S390
	ZR_FUNC(s390_only, zr_s390_only),
#else
	ZR_FUNC(other_only, zr_other_only),
#endif
#if !IS_ENABLED(CONFIG_FOO)
	ZR_FUNC(no_foo, zr_no_foo),
#endif
	{ }
};
"""


class ReplacedFunctions(unittest.TestCase):
    def test_s390(self):
        self.assertEqual(ge.replaced_functions(GLUE, {"CONFIG_S390"}),
                         ["common", "s390_only", "no_foo"])

    def test_other_arch(self):
        self.assertEqual(ge.replaced_functions(GLUE, {"CONFIG_FOO"}), ["common", "other_only"])

    def test_conditional_needs_config(self):
        with self.assertRaisesRegex(ValueError, "needs --config"):
            ge.replaced_functions(GLUE, None)

    def test_unconditional_without_config(self):
        self.assertEqual(ge.replaced_functions("ZR_FUNC(a, b),\n", None), ["a"])

    def test_unknown_conditional(self):
        with self.assertRaisesRegex(ValueError, "not a CONFIG_ test"):
            ge.replaced_functions("#if defined(X) && Y\nZR_FUNC(a, b),\n#endif\n", set())

    def test_unbalanced(self):
        with self.assertRaisesRegex(ValueError, "unterminated"):
            ge.replaced_functions("#ifdef CONFIG_A\nZR_FUNC(a, b),\n", set())
        with self.assertRaisesRegex(ValueError, "without #if"):
            ge.replaced_functions("#endif\n", set())

    def test_read_config(self):
        with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
            f.write("# comment\nCONFIG_S390=y\nCONFIG_M=m\nCONFIG_STR=\"x\"\nCONFIG_N=0\n")
        try:
            self.assertEqual(ge.read_config(f.name), {"CONFIG_S390", "CONFIG_M"})
        finally:
            os.unlink(f.name)


IOV_C = """/* SPDX */
static void sriov_del_vfs(struct pci_dev *dev);

static void sriov_disable(struct pci_dev *dev)
{
	struct pci_sriov *iov = dev->sriov;	/* the PF's */

	if (!iov->num_VFs)
		return;
	sriov_del_vfs(dev);
}

void pci_disable_sriov(struct pci_dev *dev)
{
	if (!dev->is_physfn)
		return;
	sriov_disable(dev);
}
"""
# As the upstream series changes it: VF removal under the rescan/remove lock.
IOV_C_CHANGED = IOV_C.replace("\tsriov_del_vfs(dev);\n}",
                              "\tpci_lock_rescan_remove();\n\tsriov_del_vfs(dev);\n"
                              "\tpci_unlock_rescan_remove();\n}")


class Sources(unittest.TestCase):
    """The fingerprints of the replaced functions' source (--srctree, --sources, --record)."""

    def tree(self, tmp, text):
        os.makedirs(os.path.join(tmp, "drivers/pci"), exist_ok=True)
        with open(os.path.join(tmp, "drivers/pci/iov.c"), "w", encoding="utf-8") as f:
            f.write(text)
        return tmp

    def recorded(self, tmp, srctree):
        path = os.path.join(tmp, "sources.list")
        with open(path, "w", encoding="utf-8") as f:
            f.write("# NAME FILE FINGERPRINT\n"
                    "sriov_disable drivers/pci/iov.c 0000000000000000\n"
                    "pci_disable_sriov drivers/pci/iov.c 0000000000000000 caller-of=sriov_disable\n")
        text = ge.record(srctree, path)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return ge.read_sources(path)

    def test_definition_skips_the_prototype(self):
        d = ge.definition(IOV_C, "sriov_disable")
        self.assertTrue(d.startswith("static void sriov_disable(struct pci_dev *dev)\n{"))
        self.assertTrue(d.endswith("sriov_del_vfs(dev);\n}"))

    def test_definition_missing_or_twice(self):
        with self.assertRaisesRegex(ValueError, "no definition"):
            ge.definition(IOV_C, "sriov_enable")
        with self.assertRaisesRegex(ValueError, "more than once"):
            ge.definition(IOV_C + IOV_C, "sriov_disable")

    def test_comments_and_layout_do_not_count(self):
        moved = IOV_C.replace("/* the PF's */", "").replace("\tif (!iov", "\n\tif (  !iov")
        self.assertEqual(ge.fingerprint(ge.definition(moved, "sriov_disable")),
                         ge.fingerprint(ge.definition(IOV_C, "sriov_disable")))

    def test_the_recorded_tree_passes(self):
        with tempfile.TemporaryDirectory() as tmp:
            tree = self.tree(os.path.join(tmp, "t"), IOV_C)
            sources = self.recorded(tmp, tree)
            self.assertEqual(ge.check_sources(tree, sources, ["sriov_disable"]), [])

    def test_a_changed_function_is_refused_by_name(self):
        with tempfile.TemporaryDirectory() as tmp:
            sources = self.recorded(tmp, self.tree(os.path.join(tmp, "t"), IOV_C))
            changed = self.tree(os.path.join(tmp, "c"), IOV_C_CHANGED)
            errors = ge.check_sources(changed, sources, ["sriov_disable"])
        self.assertEqual(len(errors), 1)
        self.assertRegex(errors[0], r"^sriov_disable \(drivers/pci/iov.c\) differs from the "
                                    r"source this livepatch was written against")

    def test_a_changed_caller_is_refused_where_its_callee_is_replaced(self):
        with tempfile.TemporaryDirectory() as tmp:
            sources = self.recorded(tmp, self.tree(os.path.join(tmp, "t"), IOV_C))
            changed = self.tree(os.path.join(tmp, "c"),
                                IOV_C.replace("if (!dev->is_physfn)", "if (!dev->sriov)"))
            self.assertRegex(ge.check_sources(changed, sources, ["sriov_disable"])[0],
                             r"^pci_disable_sriov \(drivers/pci/iov.c, caller of sriov_disable\)")
            self.assertEqual(ge.check_sources(changed, sources, []), [])

    def test_a_replaced_function_needs_a_fingerprint(self):
        with tempfile.TemporaryDirectory() as tmp:
            tree = self.tree(os.path.join(tmp, "t"), IOV_C)
            sources = self.recorded(tmp, tree)
            errors = ge.check_sources(tree, sources, ["sriov_disable", "sriov_enable"])
        self.assertEqual(len(errors), 1)
        self.assertRegex(errors[0], "^sriov_enable: no fingerprint recorded")

    def test_a_missing_file_is_named(self):
        with tempfile.TemporaryDirectory() as tmp:
            sources = self.recorded(tmp, self.tree(os.path.join(tmp, "t"), IOV_C))
            errors = ge.check_sources(os.path.join(tmp, "none"), sources, ["sriov_disable"])
        self.assertRegex(errors[0], "^sriov_disable .*cannot read its source")

    def test_bad_lines(self):
        with tempfile.NamedTemporaryFile("w", suffix=".list", delete=False) as f:
            f.write("sriov_disable drivers/pci/iov.c xyz\n")
        try:
            with self.assertRaisesRegex(ValueError, "want NAME FILE FINGERPRINT"):
                ge.read_sources(f.name)
        finally:
            os.unlink(f.name)

    def test_the_repository_lists_every_replaced_function(self):
        top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        with open(os.path.join(top, "rust/zr_glue.c"), encoding="utf-8") as f:
            glue = f.read()
        everything = {"CONFIG_S390", "CONFIG_HOTPLUG_PCI_PCIE"}
        listed = {n for n, _, _, c in ge.read_sources(os.path.join(top, "rust/zr_sources.list"))
                  if not c}
        self.assertEqual(set(ge.replaced_functions(glue, everything)), listed)


if __name__ == "__main__":
    unittest.main()
