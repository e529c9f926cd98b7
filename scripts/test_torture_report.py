# SPDX-License-Identifier: GPL-2.0
"""Unit tests of torture-report.py: the guest's torture records as rows (host counts kept
whole, per-operation counts), the patched/stock ratio over the safe mix only, and the command
line (no figures: exit 1; usage: exit 2).

Run from scripts/: python3 -m unittest test_torture_report"""

import contextlib
import io
import json
import os
import tempfile
import unittest

from script_module import load_script
from zr import records

tr = load_script("torture-report.py")


def record(kernel, mix, rate, arch="s390x"):
    """A torture record as zr_torture sends it."""
    return {"test": "zr_torture", "kind": "torture", "arch": arch, "kernel": kernel, "mix": mix,
            "seed": 42, "workers": 3, "budget": 0, "seconds": 20.0, "ops": 40, "ok": 38,
            "failed": 2, "ops_per_s": rate, "lockdep": 0, "hung": 0, "warnings": 0, "lost": 0,
            "stuck": 0, "host": "unplug=3 plug=3 busy=0 errors=0", "power.ok": 10,
            "power.failed": 2, "power.na": 1, "reset.ok": 28, "reset.failed": 0, "reset.na": 0}


class ParseTest(unittest.TestCase):
    def test_fields_host_and_per_op(self):
        rec = tr.parse_record(record("stock", "safe", 2.0))
        self.assertEqual(rec["kernel"], "stock")
        self.assertEqual(rec["host"], "unplug=3 plug=3 busy=0 errors=0")
        self.assertEqual(rec["per_op"]["power"], {"ok": 10, "failed": 2, "na": 1})
        self.assertNotIn("unplug", rec)

    def test_ratio_uses_safe_mix_only(self):
        rows = [tr.parse_record(record(k, m, r))
                for k, m, r in (("stock", "safe", 2.0), ("patched", "safe", 1.9),
                                ("patched", "full", 9.0))]
        stock, patched, q = tr.ratios(rows)["s390x"]
        self.assertEqual((stock, patched), (2.0, 1.9))
        self.assertAlmostEqual(q, 0.95)

    def test_no_ratio_without_stock(self):
        rows = [tr.parse_record(record("patched", "safe", 1.0))]
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
                with open(os.path.join(d, boot, records.FILE), "w", encoding="utf-8") as f:
                    f.write(json.dumps({"test": "zr_lifecycle", "kind": "lifecycle", "cycles": 1,
                                        "disable_with_lock_held": 0,
                                        "disable_with_lock_free": 1}) + "\n"
                            + json.dumps(record(kernel, "safe", 2.0)) + "\n")
            out = os.path.join(d, "t.md")
            self.assertEqual(self.run_main([out, d, "a", "b", "missing"])[0], 0)
            with open(out, encoding="utf-8") as f:
                text = f.read()
            self.assertIn("ratio patched/stock 1.00", text)
            self.assertIn("| a | s390x | stock | safe |", text)

    def test_a_malformed_record_is_named(self):
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "a"))
            with open(os.path.join(d, "a", records.FILE), "w", encoding="utf-8") as f:
                f.write('{"test": "zr_torture", "kind": "torture", "arch": "s390x"}\n')
            rc, err = self.run_main([os.path.join(d, "t.md"), d, "a"])
            self.assertEqual(rc, 1)
            self.assertIn("data.jsonl:1: torture record without kernel, mix", err)

    def test_no_figures_and_usage(self):
        with tempfile.TemporaryDirectory() as d:
            rc, err = self.run_main([os.path.join(d, "t.md"), d, "a"])
            self.assertEqual(rc, 1)
            self.assertIn("no torture figures", err)
        self.assertEqual(self.run_main(["x"])[0], 2)


if __name__ == "__main__":
    unittest.main()
