# SPDX-License-Identifier: GPL-2.0
"""Unit tests of torture-report.py: parsing of the guest's "# torture:" lines (host counts kept
whole, per-operation counts), the patched/stock ratio over the safe mix only, and the command
line (no figures: exit 1; usage: exit 2).

Run from scripts/: python3 -m unittest test_torture_report"""

import contextlib
import io
import os
import tempfile
import unittest

from script_module import load_script

tr = load_script("torture-report.py")


def line(kernel, mix, rate, arch="s390x"):
    return (f"  # torture: arch={arch} kernel={kernel} mix={mix} seed=42 workers=3 budget=0 "
            f"seconds=20.0 ops=40 ok=38 failed=2 ops_per_s={rate} lockdep=0 hung=0 warnings=0 "
            f"lost=0 stuck=0 host=[unplug=3 plug=3 busy=0 errors=0] power.ok=10 power.failed=2 "
            f"power.na=1 reset.ok=28 reset.failed=0 reset.na=0\n")


class ParseTest(unittest.TestCase):
    def test_fields_host_and_per_op(self):
        rec = tr.parse_line(line("stock", "safe", "2.00").split("# torture: ", 1)[1])
        self.assertEqual(rec["kernel"], "stock")
        self.assertEqual(rec["host"], "unplug=3 plug=3 busy=0 errors=0")
        self.assertEqual(rec["per_op"]["power"], {"ok": 10, "failed": 2, "na": 1})
        self.assertNotIn("unplug", rec)

    def test_ratio_uses_safe_mix_only(self):
        rows = [tr.parse_line(line(k, m, r).split("# torture: ", 1)[1])
                for k, m, r in (("stock", "safe", "2.00"), ("patched", "safe", "1.90"),
                                ("patched", "full", "9.00"))]
        stock, patched, q = tr.ratios(rows)["s390x"]
        self.assertEqual((stock, patched), (2.0, 1.9))
        self.assertAlmostEqual(q, 0.95)

    def test_no_ratio_without_stock(self):
        rows = [tr.parse_line(line("patched", "safe", "1.0").split("# torture: ", 1)[1])]
        self.assertEqual(tr.ratios(rows), {})
        rows[0]["boot"] = "b"
        self.assertIn("No architecture has both", tr.render(rows))


class CommandLineTest(unittest.TestCase):
    def run_main(self, args):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            rc = tr.main(["torture-report.py"] + args)
        return rc, err.getvalue()

    def test_report_written(self):
        with tempfile.TemporaryDirectory() as d:
            for boot, kernel in (("a", "stock"), ("b", "patched")):
                os.makedirs(os.path.join(d, boot))
                with open(os.path.join(d, boot, "guest.ktap"), "w", encoding="utf-8") as f:
                    f.write("ok 1 x\n" + line(kernel, "safe", "2.00"))
            out = os.path.join(d, "t.md")
            self.assertEqual(self.run_main([out, d, "a", "b", "missing"])[0], 0)
            with open(out, encoding="utf-8") as f:
                text = f.read()
            self.assertIn("ratio patched/stock 1.00", text)
            self.assertIn("| a | s390x | stock | safe |", text)

    def test_no_figures_and_usage(self):
        with tempfile.TemporaryDirectory() as d:
            rc, err = self.run_main([os.path.join(d, "t.md"), d, "a"])
            self.assertEqual(rc, 1)
            self.assertIn("no torture figures", err)
        self.assertEqual(self.run_main(["x"])[0], 2)


if __name__ == "__main__":
    unittest.main()
