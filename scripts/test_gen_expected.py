#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Unit tests of scripts/gen-expected.py (run: python3 -m unittest discover -s scripts)."""

import importlib.util
import os
import tempfile
import unittest

_spec = importlib.util.spec_from_file_location(
    "gen_expected", os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen-expected.py"))
ge = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ge)

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


if __name__ == "__main__":
    unittest.main()
