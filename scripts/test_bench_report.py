# SPDX-License-Identifier: GPL-2.0
"""Unit tests of bench-report.py: the guest's bench records into instructions per pair, the
target ratios, the determinism check across boots, incomplete boots refused.

Run from scripts/: python3 -m unittest test_bench_report"""

import json
import os
import tempfile
import unittest

from script_module import load_script
from zr import records

br = load_script("bench-report.py")

FIGS = {("stock", "outer"): 40000, ("stock", "redirect"): 60000, ("stock", "c_outer"): 44000,
        ("stock", "c_nested"): 12000, ("patched", "outer"): 110000,
        ("patched", "redirect"): 60000, ("patched", "nested"): 70000,
        ("patched", "direct"): 44000, ("patched", "direct_nested"): 16000}


def data(figs, n=20000):
    """A bench boot's data records, as zr_bench sends them."""
    return "".join(json.dumps({"test": "zr_bench", "kind": "bench", "phase": p, "pair": k,
                               "ps_per_pair": v, "n": n}) + "\n" for (p, k), v in figs.items())


def parse(text):
    return br.parse(records.parse(text, "data.jsonl"))


class BenchReport(unittest.TestCase):
    def run_dirs(self, tmp, *boots):
        dirs = []
        for name, text in boots:
            d = os.path.join(tmp, name)
            os.makedirs(d)
            with open(os.path.join(d, records.FILE), "w", encoding="utf-8") as f:
                f.write(text)
            dirs.append(d)
        return dirs

    def values(self, text):
        return dict(s.split("=", 1) for s in text.splitlines() if "=" in s)

    def test_figures_are_instructions_and_ratios(self):
        ps, ns = parse(data(FIGS))
        self.assertEqual(ns, {20000})
        f = br.figures(ps)
        self.assertEqual(f["stock_outer_instr_per_pair"], 40.0)
        self.assertAlmostEqual(f["outermost_direct_ratio"], 1.1)
        self.assertAlmostEqual(f["nested_direct_ratio"], 0.4)
        self.assertAlmostEqual(f["outermost_vs_c_ratio"], 1.0)
        self.assertAlmostEqual(f["outermost_net_ratio"], 1.25)

    def test_two_equal_boots_are_deterministic(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "out.txt")
            dirs = self.run_dirs(tmp, ("bench-s390x-1", data(FIGS)), ("bench-s390x-2", data(FIGS)))
            self.assertEqual(br.main(["x", out] + dirs), 0)
            with open(out, encoding="utf-8") as f:
                text = f.read()
        v = self.values(text)
        self.assertTrue(text.startswith("[s390x]\naccel=tcg-icount\n"))
        self.assertEqual(v["deterministic"], "yes")
        self.assertEqual(v["outermost_vs_c_met"], "yes")
        self.assertEqual(v["nested_direct_met"], "yes")

    def test_a_difference_between_boots_is_reported(self):
        other = dict(FIGS)
        other[("patched", "direct")] = 45000
        text, errors = br.report({"x86_64": [("bench-x86_64-1", *parse(data(FIGS))),
                                             ("bench-x86_64-2", *parse(data(other)))]})
        self.assertEqual(errors, [])
        v = self.values(text)
        self.assertEqual(v["deterministic"], "no")
        self.assertEqual(v["max_difference_between_boots"], "2.273%")

    def test_an_incomplete_boot_is_an_error(self):
        partial = {k: v for k, v in FIGS.items() if k != ("stock", "c_outer")}
        with tempfile.TemporaryDirectory() as tmp:
            dirs = self.run_dirs(tmp, ("bench-s390x-1", data(partial)))
            self.assertEqual(br.main(["x", os.path.join(tmp, "o")] + dirs), 1)

    def test_usage(self):
        self.assertEqual(br.main(["x"]), 2)
        with tempfile.TemporaryDirectory() as tmp:
            d = os.path.join(tmp, "elsewhere")
            os.makedirs(d)
            self.assertEqual(br.main(["x", os.path.join(tmp, "o"), d]), 2)


if __name__ == "__main__":
    unittest.main()
