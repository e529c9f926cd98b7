# SPDX-License-Identifier: GPL-2.0
"""Unit tests of the host's judgement of a boot (zr/verdict.py): its own checks against the
boot's expectations, and where an unexpected report happened. Run from qemu/: python3 -m
unittest test_verdict"""

import unittest

from zr.verdict import Boot, Expectations, host_checks


def boot(seen=(), unexpected=None, by_test=None, **kw) -> Boot:
    facts = {"reached_init": True, "finished": True, "killed": None, "timeouts": [],
             "guest_ktap": "", "plan": 2, "suites": 2, "crash": None} | kw
    return Boot(**facts, seen=list(seen), unexpected=unexpected or {}, by_test=by_test or {})


def failures(b: Boot, e: Expectations) -> list[str]:
    return [desc for ok, desc, _ in host_checks(b, e) if not ok]


class HostChecksTest(unittest.TestCase):
    def test_a_clean_boot_passes_every_check(self):
        checks = host_checks(boot(), Expectations())
        self.assertEqual(failures(boot(), Expectations()), [])
        self.assertIn((True, "console has no lockdep-circular report", ""), checks)

    def test_an_unexpected_report_names_the_test_it_came_in(self):
        b = boot(["warning", "bug"], {"warning": "...", "bug": "..."},
                 {"zr_a": ["warning"], "zr_b": ["warning", "bug"]})
        self.assertEqual(failures(b, Expectations()),
                         ["console has no bug report (first during zr_b)",
                          "console has no warning report (first during zr_a)"])

    def test_expected_and_allowed_reports(self):
        e = Expectations(reports=["lockdep-circular"], allowed=["warning"])
        self.assertEqual(failures(boot(["warning"]), e),
                         ["console shows the expected lockdep-circular report"])
        self.assertEqual(failures(boot(["lockdep-circular"]), e), [])

    def test_a_hung_shutdown_after_the_suite_is_not_a_missed_deadline(self):
        why = "no power-off within 30s of the suite's end (the kernel's shutdown hung)"
        self.assertEqual(failures(boot(killed=why, shutdown_hung=True), Expectations()), [])
        self.assertEqual(failures(boot(killed="boot ran past its deadline of 600s"),
                                  Expectations()),
                         ["guest suite finished before its deadline (boot ran past its "
                          "deadline of 600s)"])

    def test_deadlines_suites_and_crashes(self):
        self.assertEqual(failures(boot(killed="test zr_a ran past its deadline", finished=False),
                                  Expectations()),
                         ["guest suite finished before its deadline "
                          "(test zr_a ran past its deadline)"])
        self.assertEqual(failures(boot(timeouts=["zr_hang"], finished=False),
                                  Expectations(timeout="zr_hang")), [])
        self.assertEqual(failures(boot(), Expectations(timeout="zr_hang")),
                         ["zr_hang hung until its deadline, as expected"])
        self.assertEqual(failures(boot(suites=1, crash="signal 11"), Expectations()),
                         ["guest KTAP channel delivered all suites (1 of 2)",
                          "QEMU did not crash (signal 11)"])


if __name__ == "__main__":
    unittest.main()
