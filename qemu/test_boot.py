# SPDX-License-Identifier: GPL-2.0
"""Unit tests of what the boot runner reads after a boot: the guest's KTAP, the console's reports
and lost timers, vCPU states and QEMU crashes. Run from qemu/: python3 -m unittest test_boot"""

import os
import tempfile
import textwrap
import unittest

from zr import console, diagnose, ktap


def write(tmp, name, text):
    path = os.path.join(tmp, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(textwrap.dedent(text))
    return path


GUEST_OK = """\
KTAP version 1
1..2
# zr-suite: one
  TAP version 13
  1..2
  ok 1 first
  ok 2 second # SKIP not here
ok 1 one
# zr-suite: two
  TAP version 13
  1..1
  not ok 1 broken thing
not ok 2 two # exit 1
"""


class GuestKtapTest(unittest.TestCase):
    def test_leaves_are_counted_per_suite(self):
        res = ktap.Results()
        self.assertEqual(ktap.parse_guest_ktap(GUEST_OK, [], {}, res), (2, 2))
        self.assertEqual(res.counts(), (1, 1, 1))
        self.assertEqual(res.failures(), ["two: broken thing"])

    def test_unfinished_suite_is_a_failure_and_a_timeout_is_named(self):
        text = "# zr-suite: hang\n  1..3\n  ok 1 a\n"
        res = ktap.Results()
        ktap.parse_guest_ktap(text, ["hang"], {}, res)
        self.assertEqual(res.counts(), (1, 1, 0))
        self.assertIn("TIMEOUT", res.failures()[0])
        res = ktap.Results()
        ktap.parse_guest_ktap(text, [], {}, res)
        self.assertIn("did not finish", res.failures()[0])

    def test_failed_suite_without_failed_leaf_still_fails(self):
        text = "# zr-suite: s\n  1..2\n  ok 1 a\nnot ok 1 s # exit 1\n"
        res = ktap.Results()
        ktap.parse_guest_ktap(text, [], {}, res)
        self.assertEqual(res.counts(), (1, 1, 0))

    def test_a_failure_carries_the_last_diagnostic_before_it(self):
        text = ("# zr-suite: s\n  1..3\n  # round 1: fine\n  ok 1 a\n  # round 2: znvme not back\n"
                "  not ok 2 rounds (1 done)\n  # Totals: pass:1 fail:1\n  not ok 3 b\n"
                "not ok 1 s # exit 1\n# zr-suite: t\n  1..2\n  # waiting for x\n")
        res = ktap.Results()
        ktap.parse_guest_ktap(text, ["t"], {}, res)
        self.assertEqual(res.failures(), ["s: rounds (1 done) [round 2: znvme not back]", "s: b",
                                          "t: t: TIMEOUT [waiting for x]"])
        res = ktap.Results()
        ktap.parse_guest_ktap("# zr-suite: u\n  Bail out!  x=0: bad\nnot ok 1 u # exit 1\n", [], {}, res)
        self.assertEqual(res.failures(), ["u: suite exited with failure (exit 1) [Bail out!  x=0: bad]"])

    def test_missing_suites_are_reported_by_the_plan(self):
        res = ktap.Results()
        self.assertEqual(ktap.parse_guest_ktap("KTAP version 1\n1..3\n", [], {}, res), (3, 0))
        self.assertEqual(ktap.parse_guest_ktap("", [], {}, res), (None, 0))

    def test_skipped_suite_counts_as_skip(self):
        text = "# zr-suite: s\n  1..0 # SKIP no device\nok 1 s # SKIP\n"
        res = ktap.Results()
        ktap.parse_guest_ktap(text, [], {}, res)
        self.assertEqual(res.counts(), (0, 0, 1))

    def test_expected_failure_and_timeout(self):
        res = ktap.Results()
        ktap.parse_guest_ktap(GUEST_OK, [], {}, res)
        res.expect_failed("two")
        self.assertEqual(res.counts(), (2, 0, 1))
        res.expect_failed("one")
        self.assertEqual(res.failures(), ["one: expected a failure, got none"])
        res = ktap.Results()
        ktap.parse_guest_ktap("# zr-suite: hang\n  1..1\n", ["hang"], {}, res)
        res.expect_failed("hang", timeout=True)
        self.assertEqual(res.counts(), (1, 0, 0))
        res = ktap.Results()
        res.expect_failed("absent")
        self.assertEqual(res.counts(), (0, 1, 0))

    def test_ktap_output_is_nested_with_plans(self):
        res = ktap.Results()
        ktap.parse_guest_ktap(GUEST_OK, [], {}, res)
        out = res.ktap().splitlines()
        self.assertEqual(out[:2], ["KTAP version 1", "1..2"])
        self.assertIn("  not ok 1 broken thing", out)
        self.assertEqual(out[-1], "not ok 2 two")


CONSOLE = """\
[    1.0] zr-init: start 7.3.4-zpci-rrlock
[    5.0] ======================================================
[    5.0] WARNING: possible circular locking dependency detected
[    5.0] 7.3.4 #1 Not tainted
[    9.0] INFO: task kworker/0:1:12 blocked for more than 10 seconds.
[    9.5] pci 0001:00:00.0: [Firmware Bug]: BAR 0: invalid; can't size
  ok 3 no BUG: or WARNING: or Oops in this boot
"""


def parsed(text: str) -> console.Console:
    return console.Console.parse(text.splitlines())


class ConsoleScanTest(unittest.TestCase):
    def scan(self, expected=()):
        con = parsed(CONSOLE)
        return con.unexpected(set(expected)), con.seen()

    def test_reports_are_found_with_excerpts(self):
        unexpected, seen = self.scan()
        self.assertEqual(sorted(unexpected), ["hung-task", "lockdep-circular"])
        self.assertIn("circular locking", unexpected["lockdep-circular"])
        self.assertEqual(seen, ["lockdep-circular", "hung-task"])

    def test_expected_reports_are_not_failures(self):
        unexpected, _ = self.scan(["lockdep-circular"])
        self.assertEqual(sorted(unexpected), ["hung-task"])

    def test_firmware_bug_and_guest_ktap_are_not_reports(self):
        unexpected, seen = self.scan()
        self.assertNotIn("bug", seen)
        self.assertNotIn("oops", seen)

    def test_oops_and_panic_are_reports(self):
        con = parsed("[ 1.0] Oops: 0004 ilc:3 [#1] PREEMPT SMP\n"
                     "[ 2.0] Kernel panic - not syncing: Fatal exception\n")
        self.assertEqual(con.seen(), ["oops", "oops"])

    def test_bug_on_is_a_report_on_both_architectures(self):
        con = parsed("[ 1.0] kernel BUG at drivers/pci/iov.c:922!\n"
                     "[ 1.0] monitor event: 0040 ilc:2 [#1]SMP \n"
                     "[ 2.0] kernel BUG at mm/slub.c:100!\n"
                     "[ 2.0] Oops: invalid opcode: 0000 [#2] PREEMPT SMP\n")
        self.assertEqual(con.seen(), ["bug", "oops", "bug", "oops"])

    def test_warnings_in_both_formats_are_reports(self):
        con = parsed("[ 1.0] WARNING: CPU: 1 PID: 42 at drivers/pci/remove.c:128 x+0x1/0x2\n"
                     "[ 2.0] WARNING: drivers/pci/remove.c:128 at pci_stop_and_remove_bus_device"
                     "+0x39/0x40, CPU#0: zr_vf_unbind.sh/250\n")
        self.assertEqual(con.seen(), ["warning", "warning"])

    def test_known_pciehp_report_is_its_own_kind(self):
        con = parsed("[ 1.0] WARNING: possible circular locking dependency detected\n"
                     "[ 1.0] 7.3.4 #1 Not tainted\n"
                     "[ 1.0] irq/24-pciehp/41 is trying to acquire lock:\n"
                     "[ 1.0] ff11 (&ctrl->reset_lock){.+.+}-{4:4}, at: "
                     "pciehp_unconfigure_device+0x91/0x100\n")
        # Expecting the generic kind does not accept the refined one, and vice versa.
        self.assertEqual(con.seen(), ["lockdep-pciehp-reset"])
        self.assertIn("lockdep-pciehp-reset", con.unexpected({"lockdep-circular"}))


class VcpuStateTest(unittest.TestCase):
    def test_pcs_of_both_architectures(self):
        regs = ("CPU#0\nRAX=0000000000000000 RBX=0000000000000001\n"
                "RIP=ffffffff8150b7e0 RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1\n"
                "CPU#1\nPSW=mask 0704c00180000000 addr 000003ffe03cc506 cc 00\n")
        self.assertEqual(diagnose.vcpu_pcs(regs), [0xffffffff8150b7e0, 0x000003ffe03cc506])

    def test_symbolise(self):
        syms = [(0x1000, "a"), (0x2000, "b")]
        self.assertEqual(diagnose.symbolise(syms, 0x2010), "b+0x10")
        self.assertEqual(diagnose.symbolise(syms, 0x1000), "a+0x0")
        self.assertEqual(diagnose.symbolise(syms, 0x10), "?")
        self.assertEqual(diagnose.symbolise([], 0x10), "?")

    def test_load_symbols_keeps_text_only(self):
        with tempfile.NamedTemporaryFile("w", suffix=".map") as f:
            f.write("ffffffff81000000 T _text\nffffffff82000000 D some_data\n"
                    "ffffffff81000100 t local_fn\n")
            f.flush()
            self.assertEqual(diagnose.load_symbols(f.name),
                             [(0xffffffff81000000, "_text"), (0xffffffff81000100, "local_fn")])
        self.assertEqual(diagnose.load_symbols("/nonexistent/System.map"), [])


class EmulatorCrash(unittest.TestCase):
    def test_crash_names_the_assertion(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "qemu.out")
            with open(out, "w", encoding="utf-8") as f:
                f.write("qemu-system-x86_64: system/physmem.c:2678: iotlb_to_section: "
                        "Assertion `section_index < d->map.sections_nb' failed.\n")
            why = diagnose.emulator_crash(-6, None, out)
            self.assertIn("qemu exit -6", why)
            self.assertIn("iotlb_to_section", why)

    def test_not_a_crash(self):
        self.assertIsNone(diagnose.emulator_crash(0, None, "/nonexistent"))
        self.assertIsNone(diagnose.emulator_crash(None, None, "/nonexistent"))
        # The runner killed it at a deadline: a hang, not an emulator crash.
        self.assertIsNone(diagnose.emulator_crash(-9, "test x ran past its deadline", "/nonexistent"))


class TimerLostTest(unittest.TestCase):
    LINE = ("[  106.640012] rcu: rcu_sched kthread timer wakeup didn't happen for 6492 jiffies! "
            "g3181 f0x0 RCU_GP_WAIT_FQS(5) ->state=I\n")

    def test_lost_timer_counts_only_for_a_killed_guest(self):
        con = console.Console.parse(["[    1.0] booting", self.LINE])
        self.assertIn("timer wakeup didn't happen", con.timer_lost("test x ran past its deadline"))
        self.assertIsNone(con.timer_lost(None))
        # The guest's KTAP echo of the words is no kernel line.
        echo = console.Console.parse(["  # rcu: rcu_sched kthread timer wakeup didn't happen for 1 jiffies"])
        self.assertIsNone(echo.timer_lost("killed"))


if __name__ == "__main__":
    unittest.main()
