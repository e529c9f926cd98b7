# SPDX-License-Identifier: GPL-2.0
"""Unit tests of the data channel's table (zr/records.py): the records each kind holds, the
refusals by name, and the host's verdict on a boot's records. Run from qemu/: python3 -m
unittest test_records"""

import json
import os
import tempfile
import unittest

from zr import records

BENCH = {"test": "zr_bench", "kind": "bench", "phase": "stock", "pair": "outer",
         "ps_per_pair": 22000, "n": 100000}


def lines(*recs: object) -> str:
    return "".join(json.dumps(r) + "\n" for r in recs)


class ParseTest(unittest.TestCase):
    def test_records_of_the_table(self):
        lifecycle = {"test": "zr_lifecycle", "kind": "lifecycle", "cycles": 3,
                     "disable_with_lock_held": 1, "disable_with_lock_free": 2}
        self.assertEqual(records.parse(lines(BENCH, lifecycle) + "\n", "d"), [BENCH, lifecycle])

    def test_torture_may_carry_per_operation_counts(self):
        rec = {f: 0 for f in records.TORTURE} | {"test": "zr_torture", "kind": "torture",
                                                  "unbind.ok": 3, "unbind.na": 0}
        self.assertEqual(records.parse(lines(rec), "d"), [rec])
        with self.assertRaisesRegex(records.RecordError, r"unknown field\(s\) unbind\.late"):
            records.parse(lines(rec | {"unbind.late": 1}), "d")

    def test_refusals_name_the_line_and_what_is_wrong(self):
        for text, want in (
                ("not json\n", r"^d:1: not JSON"),
                (lines([1, 2]), r"^d:1: not a JSON object"),
                (lines({"kind": "bench"}), r"^d:1: no test name"),
                (lines(BENCH, BENCH | {"kind": "nope"}), r"^d:2: unknown kind 'nope' \(known: bench"),
                (lines({k: v for k, v in BENCH.items() if k != "n"}), r"^d:1: bench record without n$"),
                (lines(BENCH | {"extra": 1}), r"^d:1: bench record with unknown field\(s\) extra$")):
            with self.subTest(want=want), self.assertRaisesRegex(records.RecordError, want):
                records.parse(text, "d")


class ReadTest(unittest.TestCase):
    def test_read_by_kind_and_verdict(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(records.read_records(d), [])
            self.assertIsNone(records.verdict(d))
            lockdep = {"test": "zr_lockdep", "kind": "lockdep", "proc_lockdep": "all lock classes:"}
            with open(os.path.join(d, records.FILE), "w", encoding="utf-8") as f:
                f.write(lines(BENCH, lockdep))
            self.assertEqual(records.read_records(d, "lockdep"), [lockdep])
            self.assertEqual(records.verdict(d),
                             (True, "guest data records well-formed (2: bench, lockdep)"))
            with open(os.path.join(d, records.FILE), "a", encoding="utf-8") as f:
                f.write("{\n")
            ok, why = records.verdict(d)
            self.assertFalse(ok)
            self.assertIn("data.jsonl:3: not JSON", why)


if __name__ == "__main__":
    unittest.main()
