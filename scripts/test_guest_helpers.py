# SPDX-License-Identifier: GPL-2.0
"""Guest helpers of scripts/selftests/functions.sh that parse text, run on the host under the
guest's shell (busybox sh when the cached x86_64 busybox is there, else /bin/sh): zr_num_in (the
numeric options), zr_blocked_summary (the line a timed-out test sends) and the function lookup
(zr.functions=), which must leave its caller's variables alone.

Run from scripts/: python3 -m unittest test_guest_helpers"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(TOP, "qemu"))
from zr import reports  # noqa: E402  (qemu/zr/reports.py: the one table of kernel reports)

CACHE = os.environ.get("ZR_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "zpci-rrlock")
BUSYBOX = os.path.join(CACHE, "busybox-x86_64", "bin", "busybox")
SHELL = [BUSYBOX, "sh"] if os.access(BUSYBOX, os.X_OK) else ["/bin/sh"]
SELFTESTS = os.path.join(TOP, "scripts", "selftests")


# A sysrq w + d dump as 7.3.4 prints it (s390x frames), after an older dump that must be ignored.
DUMP = """\
[    1.0] zr-test: sysrq dump
[    1.1] task:old             state:D stack:0     pid:9
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


def run_sh(script, stdin=""):
    """Run `script` after sourcing functions.sh under the guest's shell: (status, stdout)."""
    with tempfile.TemporaryDirectory() as tmp:
        # functions.sh sources the kernel's ktap_helpers.sh from ZR_SELFTESTS (the image's
        # copy; these helpers do not use it) and the report patterns mkinitramfs.sh writes.
        open(os.path.join(tmp, "ktap_helpers.sh"), "w", encoding="utf-8").close()
        # The files functions.sh sources from ZR_SELFTESTS, copied as scripts/mkinitramfs.sh
        # copies them into the image.
        for lib in glob.glob(os.path.join(SELFTESTS, "*.sh")):
            shutil.copy(lib, tmp)
        with open(os.path.join(tmp, "reports.sh"), "w", encoding="utf-8") as f:
            f.write(reports.guest_shell())
        env = dict(os.environ, ZR_SELFTESTS=tmp, ZR_WORKDIR=os.path.join(tmp, "w"))
        p = subprocess.run(SHELL + ["-c", f'. "$ZR_SELFTESTS/functions.sh"; {script}'],
                           cwd=tmp, env=env, input=stdin, capture_output=True, text=True,
                           timeout=30, check=False)
        return p.returncode, p.stdout.strip()


class GuestHelpersTest(unittest.TestCase):
    def run_sh(self, script, stdin=""):
        return run_sh(script, stdin)

    def test_blocked_summary_names_the_tasks_frames_and_locks(self):
        rc, out = self.run_sh("zr_blocked_summary", DUMP)
        self.assertEqual(rc, 0)
        self.assertEqual(out, "blocked: insmod in pci_lock_rescan_remove<zr_nest_init<do_one_initcall;"
                              " held: insmod/123:pci_rescan_remove_lock, insmod/123:&dev->mutex")

    def test_blocked_summary_shortens_rust_symbols_and_says_when_lockdep_is_off(self):
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
        self.assertEqual(self.run_sh("zr_blocked_summary", dump)[1],
                         "blocked: insmod in zr_nest_main::..::init<init_module;"
                         " held: unknown (lockdep is off after its first report)")

    def test_blocked_summary_of_a_quiet_kernel(self):
        self.assertEqual(self.run_sh("zr_blocked_summary", "[ 1.0] zr-test: sysrq dump\n")[1],
                         "blocked: none; held: none")

    def test_blocked_summary_is_bounded(self):
        many = "[ 1.0] zr-test: sysrq dump\n" + "".join(
            f"[ 1.1] task:worker{i:03d}      state:D\n[ 1.1]  [<0>] some_function_{i}+0x1/0x2\n"
            for i in range(100))
        out = self.run_sh("zr_blocked_summary", many)[1]
        self.assertEqual(len(out), 600)
        self.assertTrue(out.endswith("..."))

    def test_lookup_keeps_the_callers_variables(self):
        fns = "ZR_FUNCTIONS='pigb:12:igb;pnvme:7:nvme'"
        self.assertEqual(self.run_sh(f"{fns}; zr_functions"), (0, "pigb\npnvme"))
        self.assertEqual(self.run_sh(f"{fns}; zr_fn_fid pnvme; zr_fn_driver pigb"), (0, "7\nigb"))
        self.assertEqual(self.run_sh(f"{fns}; zr_fn_get nothere 2 || echo no"), (0, "no"))
        rc, out = self.run_sh(f"{fns}; entry=a ifs=b fn=c; zr_fn_get pnvme 3; "
                              'echo "$entry $ifs $fn $ZR_F"')
        self.assertEqual((rc, out), (0, "a b c nvme"))

    def test_num_in(self):
        for value, want in (("1", 0), ("1000", 0), ("0", 1), ("1001", 1), ("", 1), ("010", 1),
                            ("08", 1), ("1a", 1), ("-1", 1), ("99999999999", 1), (" 5", 1)):
            rc, _ = self.run_sh(f"zr_num_in '{value}' 1 1000")
            self.assertEqual(rc, want, f"zr_num_in '{value}' 1 1000")


# One recorded first line (and the lines after it) per report kind, as both architectures print
# them; and lines that must not count.
REPORT_LINES = [
    ("lockdep-circular", "WARNING: possible circular locking dependency detected", ""),
    ("lockdep-recursive", "WARNING: possible recursive locking detected", ""),
    ("lockdep-unlock-balance", "WARNING: bad unlock balance detected!", ""),
    ("lockdep-other", "WARNING: held lock freed!", ""),
    ("hung-task", "INFO: task kworker/0:1:12 blocked for more than 10 seconds.", ""),
    ("kasan", "BUG: KASAN: slab-use-after-free in pci_get_slot+0x4c/0x90", ""),
    ("bug", "BUG: scheduling while atomic: kworker/0:1/12/0x00000002", ""),
    ("bug", "kernel BUG at drivers/pci/iov.c:922!", ""),
    ("warning", "WARNING: drivers/pci/remove.c:128 at pci_stop_and_remove_bus_device+0x39/0x40,"
                " CPU#0: zr_vf_unbind.sh/250", ""),
    ("warning", "WARNING: CPU: 1 PID: 42 at drivers/pci/remove.c:128 x+0x1/0x2", ""),
    ("oops", "monitor event: 0040 ilc:2 [#1]SMP", ""),
    ("oops", "Oops: 0004 ilc:3 [#1] PREEMPT SMP", ""),
    ("oops", "Oops: invalid opcode: 0000 [#2] PREEMPT SMP", ""),
    ("oops", "Kernel panic - not syncing: Fatal exception", ""),
    ("lockdep-pciehp-reset", "WARNING: possible circular locking dependency detected",
     "irq/24-pciehp/68 is trying to acquire lock:\n"
     "ffff (&ctrl->reset_lock){++++}-{4:4}, at: pciehp_unconfigure_device+0x1/0x2"),
    # The other side, after the livepatch was disabled (lockdep learnt the patched order).
    ("lockdep-pciehp-reset", "WARNING: possible circular locking dependency detected",
     "irq/24-pciehp/40 is trying to acquire lock:\n"
     "ffff (pci_rescan_remove_lock){+.+.}-{4:4}, at: pciehp_unconfigure_device+0x39/0x100"),
    # The livepatch's replacement never draws it: a report there is a plain circular one.
    ("lockdep-circular", "WARNING: possible circular locking dependency detected",
     "irq/24-pciehp/42 is trying to acquire lock:\n"
     "ffff (&ctrl->reset_lock){.+.+}-{4:4}, at: zr_pciehp_unconfigure_device+0x198/0x200"),
]
CLEAN_LINES = [
    "pci 0001:00:00.0: [Firmware Bug]: BAR 0: invalid; can't size",
    "igb 0001:00:00.0: Intel(R) Gigabit Ethernet Network Connection",
    "zr-selftest: % echo 1 > 0001:00:00.0/remove",
]


class ReportsContractTest(unittest.TestCase):
    """The host's classifier and the guest's zr_no_reports over the same recorded lines: both
    ends of qemu/zr/reports.py's table must agree on what is a report."""

    def guest_clean(self, text, known=""):
        """zr_no_reports over `text` as the test's part of the kernel log (dmesg replaced)."""
        with tempfile.TemporaryDirectory() as tmp:
            log = os.path.join(tmp, "log")
            with open(log, "w", encoding="utf-8") as f:
                f.write("[    1.0] zr-selftest canary c\n" + "".join(
                    f"[    2.0] {line}\n" for line in text.splitlines()))
            rc, _ = run_sh(f"dmesg() {{ cat {log}; }}; ZR_CANARY='zr-selftest canary c'; "
                           f"ZR_KNOWN_REPORTS='{known}'; zr_no_reports")
            return rc == 0

    def test_every_kind_has_a_recorded_line(self):
        self.assertEqual({k for k, _, _ in REPORT_LINES}, set(reports.kind_names()))

    def test_both_ends_see_every_report(self):
        for kind, line, after in REPORT_LINES:
            with self.subTest(kind=kind, line=line):
                self.assertEqual(reports.classify(line, after), kind)
                self.assertFalse(self.guest_clean(line + "\n" + after))

    def test_both_ends_pass_clean_lines(self):
        for line in CLEAN_LINES:
            with self.subTest(line=line):
                self.assertIsNone(reports.classify(line))
                self.assertTrue(self.guest_clean(line))

    def test_a_known_report_counts_only_where_the_boot_names_it(self):
        for kind, line, after in REPORT_LINES:
            text = line + "\n" + after
            with self.subTest(kind=kind, after=after):
                self.assertEqual(self.guest_clean(text, known="pciehp-reset"),
                                 kind == "lockdep-pciehp-reset")
                self.assertFalse(self.guest_clean(text))

    def test_guest_patterns_have_no_backslash(self):
        self.assertNotIn("\\", reports.guest_shell())


if __name__ == "__main__":
    unittest.main()
