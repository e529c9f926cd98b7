# SPDX-License-Identifier: GPL-2.0
"""Unit tests of the host's summary of a timed-out test's sysrq dumps (zr/sysrq.py), of finding
them on the console (console.Console.sysrq_summaries) and of their place in the test's failure
(ktap.parse_guest_ktap). Run from qemu/: python3 -m unittest test_sysrq"""

import unittest

from zr import console, ktap, sysrq

# A sysrq w + d dump as 7.3.4 prints it (s390x frames).
DUMP = """\
[   30.1] zr-test: sysrq dump
[   30.1] sysrq: Show Blocked State
[   30.2] task:insmod          state:D stack:0     pid:123   tgid:123   ppid:1      flags:0x00000000
[   30.2] Call Trace:
[   30.2]  [<000003ffe0123456>] __schedule+0x2ec/0x6f0
[   30.2]  [<000003ffe0123457>] schedule+0x52/0x100
[   30.2]  [<000003ffe0123458>] schedule_preempt_disabled+0x20/0x30
[   30.2]  [<000003ffe0123459>] __mutex_lock+0x3b0/0x8d0
[   30.2]  [<000003ffe012345a>] pci_lock_rescan_remove+0x2c/0x40
[   30.2]  [<000003ffe012345b>] zr_nest_init+0x60/0x100 [zr_nest]
[   30.2]  [<000003ffe012345c>] do_one_initcall+0x50/0x200
[   30.2]  [<000003ffe012345d>] do_init_module+0x50/0x200
[   30.3] sysrq: Show All Locks Held
[   30.3] Showing all locks held in the system:
[   30.3] 1 lock held by khungtaskd/20:
[   30.3]  #0: 0000000001234567 (rcu_read_lock){....}-{1:3}, at: debug_show_all_locks+0x40/0x1d0
[   30.3] 2 locks held by insmod/123:
[   30.3]  #0: 0000000001234567 (pci_rescan_remove_lock){+.+.}-{4:4}, at: pci_lock_rescan_remove+0x2c/0x40
[   30.3]  #1: 0000000001234568 (&dev->mutex){+.+.}-{4:4}, at: device_lock+0x1c/0x30
[   30.3] =============================================
"""
SUMMARY = ("blocked: insmod in pci_lock_rescan_remove<zr_nest_init<do_one_initcall;"
           " held: insmod/123:pci_rescan_remove_lock, insmod/123:&dev->mutex")


def summary(text: str) -> str:
    return sysrq.blocked_summary(text.splitlines())


class BlockedSummaryTest(unittest.TestCase):
    def test_names_the_tasks_frames_and_locks(self):
        self.assertEqual(summary(DUMP), SUMMARY)

    def test_x86_64_frames(self):
        dump = """\
[   61.0] task:zr_remove_uaf.s state:D stack:0     pid:145   tgid:145   ppid:120
[   61.0] Call Trace:
[   61.0]  <TASK>
[   61.0]  __schedule+0x3e1/0xb10
[   61.0]  schedule+0x27/0xf0
[   61.0]  __mutex_lock+0x8a5/0xfd0
[   61.0]  pci_stop_and_remove_bus_device_locked+0x15/0x30
[   61.0]  remove_store+0x6e/0x80
"""
        self.assertEqual(summary(dump), "blocked: zr_remove_uaf.s in "
                         "pci_stop_and_remove_bus_device_locked<remove_store; held: none")

    def test_shortens_rust_symbols_and_says_when_lockdep_is_off(self):
        dump = """\
[   78.0] zr-test: sysrq dump
[   78.1] task:insmod          state:D stack:0     pid:126   tgid:126   ppid:1
[   78.1]  [<000003ffe064d75a>] mutex_lock_nested+0x32/0x40
[   78.1]  [<000003ff600af160>] _RNvXCskT3HLEDka1x_12zr_nest_mainNtB2_6ZrNestNtNtCsl7L7n58I0Vr_6kernel6module6Module4init+0xb0/0x230 [zr_nest]
[   78.1]  [<000003ff600d601a>] init_module+0x1a/0x1000 [zr_nest]
[   78.1] INFO: lockdep is turned off.
[   78.2] sysrq: Show Locks Held
[   78.2] INFO: lockdep is turned off.
"""
        self.assertEqual(summary(dump), "blocked: insmod in zr_nest_main::..::init<init_module;"
                         " held: unknown (lockdep is off after its first report)")

    def test_rust_symbol(self):
        self.assertEqual(sysrq.rust_symbol("_RNvCs1234_6kernel10lock_inner"),
                         "kernel::..::lock_inner")
        self.assertEqual(sysrq.rust_symbol("pci_lock_rescan_remove"), "pci_lock_rescan_remove")

    def test_a_quiet_kernel(self):
        self.assertEqual(summary("[ 1.0] zr-test: sysrq dump\n"), "blocked: none; held: none")

    def test_is_bounded(self):
        many = "".join(f"[ 1.1] task:worker{i:03d}      state:D\n[ 1.1]  [<0>] some_function_{i}+0x1/0x2\n"
                       for i in range(100))
        out = summary(many)
        self.assertEqual(len(out), sysrq.LIMIT)
        self.assertTrue(out.endswith("..."))


class ConsoleTest(unittest.TestCase):
    def summaries(self, text: str) -> dict[str, str]:
        return console.Console.parse(text.splitlines()).sysrq_summaries()

    def test_each_test_gets_its_last_dump(self):
        old = "[    1.0] zr-test: sysrq dump\n[    1.1] task:old             state:D stack:0\n"
        text = ("[    0.9] zr-test: begin zr_a timeout=10\n" + old + DUMP
                + "  # ktap echo: task:notakernelline\n"
                "[   31.0] zr-test: end zr_a rc=124\n"
                "[   31.1] task:after_the_end state:D\n"
                "[   32.0] zr-test: begin zr_b timeout=10\n")
        self.assertEqual(self.summaries(text), {"zr_a": SUMMARY})

    def test_a_dump_outside_a_test_is_nobodys(self):
        self.assertEqual(self.summaries(DUMP), {})


class FailureTest(unittest.TestCase):
    def test_a_timeout_in_the_guest_carries_the_summary(self):
        text = "# zr-suite: s\n  1..2\n  ok 1 a\n  # sysrq dump on the console\nnot ok 1 s # TIMEOUT 60s\n"
        res = ktap.Results()
        ktap.parse_guest_ktap(text, [], {"s": SUMMARY}, res)
        self.assertEqual(res.failures(), [f"s: suite exited with failure (TIMEOUT 60s) [{SUMMARY}]"])

    def test_a_guest_killed_at_the_deadline_carries_the_summary(self):
        res = ktap.Results()
        ktap.parse_guest_ktap("# zr-suite: hang\n  1..1\n", ["hang"], {"hang": SUMMARY}, res)
        self.assertEqual(res.failures(), [f"hang: hang: TIMEOUT [{SUMMARY}]"])

    def test_another_failure_keeps_its_own_diagnostic(self):
        text = "# zr-suite: s\n  1..1\n  # why\n  not ok 1 a\nnot ok 1 s # exit 1\n"
        res = ktap.Results()
        ktap.parse_guest_ktap(text, [], {"s": SUMMARY}, res)
        self.assertEqual(res.failures(), ["s: a [why]"])


if __name__ == "__main__":
    unittest.main()
