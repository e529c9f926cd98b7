#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Unit tests of scripts/gen-expected.py (run from scripts/: python3 -m unittest test_gen_expected)."""

import os
import subprocess
import tempfile
import unittest

from script_module import load_script

ge = load_script("gen-expected.py")

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def preprocess(config):
    """rust/zr_funcs.h as Kbuild preprocesses it, with the CONFIG_ symbols `config` set."""
    argv = ["cpp", "-P", "-DZR_FUNC(old,...)=old", "-x", "c"]
    argv += [f"-D{c}" for c in config] + [os.path.join(TOP, "rust/zr_funcs.h")]
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


class ReplacedFunctions(unittest.TestCase):
    def test_names_in_order(self):
        self.assertEqual(ge.replaced_functions("\na\n\n  b\nc\n"), ["a", "b", "c"])

    def test_anything_else_is_refused_by_line(self):
        with self.assertRaisesRegex(ValueError, "line 2: not a function name: 'ZR_FUNC"):
            ge.replaced_functions("a\nZR_FUNC(b, zr_b)\n")
        with self.assertRaisesRegex(ValueError, "line 3: a listed twice"):
            ge.replaced_functions("a\nb\na\n")

    def test_the_list_follows_the_configuration(self):
        common = ge.replaced_functions(preprocess([]))
        s390 = ge.replaced_functions(preprocess(["CONFIG_S390"]))
        self.assertIn("remove_store", common)
        self.assertNotIn("zpci_zdev_put", common)
        self.assertEqual(s390[:len(common)], common)
        self.assertIn("zpci_zdev_put", s390)
        self.assertNotIn("pciehp_configure_device", s390)


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

    def recorded(self, tmp, srctree, relation="caller-of"):
        """A sources list of sriov_disable and pci_disable_sriov (RELATION=sriov_disable),
        recorded from SRCTREE."""
        path = os.path.join(tmp, "sources.list")
        with open(path, "w", encoding="utf-8") as f:
            f.write("# NAME FILE FINGERPRINT\n"
                    "sriov_disable drivers/pci/iov.c 0000000000000000\n"
                    f"pci_disable_sriov drivers/pci/iov.c 0000000000000000 {relation}=sriov_disable\n")
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

    def test_a_copied_function_is_named_as_copied(self):
        with tempfile.TemporaryDirectory() as tmp:
            sources = self.recorded(tmp, self.tree(os.path.join(tmp, "t"), IOV_C), "copied-by")
            changed = self.tree(os.path.join(tmp, "c"),
                                IOV_C.replace("if (!dev->is_physfn)", "if (!dev->sriov)"))
            self.assertRegex(ge.check_sources(changed, sources, ["sriov_disable"])[0],
                             r"^pci_disable_sriov \(drivers/pci/iov.c, copied by the "
                             r"replacement of sriov_disable\)")

    def test_an_unknown_relation_is_refused(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "sources.list")
            for word in ("called-by=sriov_disable", "caller-of=", "sriov_disable"):
                with open(path, "w", encoding="utf-8") as f:
                    f.write(f"pci_disable_sriov drivers/pci/iov.c 0000000000000000 {word}\n")
                with self.assertRaisesRegex(ValueError, r"sources.list:1: want NAME FILE"):
                    ge.read_sources(path)

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
        everything = ge.replaced_functions(preprocess(["CONFIG_S390", "CONFIG_HOTPLUG_PCI_PCIE"]))
        listed = {n for n, _, _, _, r in ge.read_sources(os.path.join(TOP, "rust/zr_sources.list"))
                  if not r}
        self.assertEqual(set(everything), listed)


if __name__ == "__main__":
    unittest.main()
