# SPDX-License-Identifier: GPL-2.0
"""Guest helpers of scripts/selftests/functions.sh that parse text, run on the host under the
guest's shell (busybox sh when the cached x86_64 busybox is there, else /bin/sh): zr_num_in (the
numeric options) and the function lookup (zr.functions=), which must leave its caller's variables
alone.

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
from zr import console, contract, control, records, reports  # noqa: E402  (the host's tables)

CACHE = os.environ.get("ZR_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "zpci-rrlock")
BUSYBOX = os.path.join(CACHE, "busybox-x86_64", "bin", "busybox")
SHELL = [BUSYBOX, "sh"] if os.access(BUSYBOX, os.X_OK) else ["/bin/sh"]
SELFTESTS = os.path.join(TOP, "scripts", "selftests")


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
        with open(os.path.join(tmp, "contract.sh"), "w", encoding="utf-8") as f:
            f.write(contract.guest_shell())
        env = dict(os.environ, ZR_SELFTESTS=tmp, ZR_WORKDIR=os.path.join(tmp, "w"))
        p = subprocess.run(SHELL + ["-c", f'. "$ZR_SELFTESTS/functions.sh"; {script}'],
                           cwd=tmp, env=env, input=stdin, capture_output=True, text=True,
                           timeout=30, check=False)
        return p.returncode, p.stdout.strip()


class GuestHelpersTest(unittest.TestCase):
    def run_sh(self, script, stdin=""):
        return run_sh(script, stdin)

    def test_lookup_keeps_the_callers_variables(self):
        fns = "ZR_FUNCTIONS='pigb:12:igb;pnvme:7:nvme'"
        self.assertEqual(self.run_sh(f"{fns}; zr_functions"), (0, "pigb\npnvme"))
        self.assertEqual(self.run_sh(f"{fns}; zr_fn_fid pnvme; zr_fn_driver pigb"), (0, "7\nigb"))
        self.assertEqual(self.run_sh(f"{fns}; zr_fn_get nothere 2 || echo no"), (0, "no"))
        rc, out = self.run_sh(f"{fns}; entry=a ifs=b fn=c; zr_fn_get pnvme 3; "
                              'echo "$entry $ifs $fn $ZR_F"')
        self.assertEqual((rc, out), (0, "a b c nvme"))

    def test_records_the_host_reads_back(self):
        # Both ends of the data channel: zr_record's lines through the host's table.
        with tempfile.TemporaryDirectory() as d:
            data = os.path.join(d, records.FILE)
            lockdep = os.path.join(d, "lockdep")
            with open(data, "w", encoding="utf-8"), open(lockdep, "w", encoding="utf-8") as f:
                f.write('all lock classes:\n00 FD: 1 BD: 2 +.+.: a "b"\\c\t\n -> [01] d\n')
            rc, out = self.run_sh(
                f"export ZR_DATA={data} ZR_TEST=zr_x; "
                "zr_record bench phase=stock pair=outer ps_per_pair=22000 n=100000 && "
                f"zr_record lockdep proc_lockdep=@{lockdep} && "
                "zr_record lifecycle cycles=3 disable_with_lock_held=01 disable_with_lock_free=-2 && "
                "! zr_record bench 'not a field'")
            self.assertEqual((rc, out), (0, '# zr_record: "not a field" is not FIELD=VALUE'))
            with open(data, encoding="utf-8") as f:
                got = records.parse(f.read(), data)
        self.assertEqual(got[0], {"test": "zr_x", "kind": "bench", "phase": "stock",
                                  "pair": "outer", "ps_per_pair": 22000, "n": 100000})
        self.assertEqual(got[1]["proc_lockdep"],
                         'all lock classes:\n00 FD: 1 BD: 2 +.+.: a "b"\\c\t\n -> [01] d')
        self.assertEqual((got[2]["disable_with_lock_held"], got[2]["disable_with_lock_free"]),
                         ("01", -2))
        self.assertEqual(len(got), 3)

    def test_no_record_without_the_data_port(self):
        self.assertEqual(self.run_sh("ZR_DATA=; zr_record bench n=1"),
                         (1, "# no data channel to the host"))

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


class ContractTest(unittest.TestCase):
    """Both ends of qemu/zr/contract.py: what the generated guest functions print, read back with
    the host's patterns; the verbs the guest's tests send, against the host's table."""

    def test_markers_read_back(self):
        args = {"test": "zr_vf_s4", "timeout": "120", "rc": "124", "release": "7.3.4-zpci-rrlock"}
        for m in contract.MARKERS:
            with self.subTest(marker=m.name):
                values = [args[f] for f in m.fields]
                quoted = " ".join(f"'{v}'" for v in values)
                rc, out = run_sh(f"zr_mark_{m.name} {quoted}")
                self.assertEqual(rc, 0)
                got = m.pattern.match(out)
                self.assertIsNotNone(got, out)
                self.assertEqual(list(got.groups()), values)
        # The host's readers are these patterns.
        self.assertIs(console.TEST_BEGIN, contract.TEST_BEGIN.pattern)

    def test_request_and_reply(self):
        rc, out = run_sh("zr_rpc_request 12.3 platform-event pigb 2 hard-deconfigure")
        m = contract.REQUEST.match(out)
        self.assertEqual((rc, m.group(1), m.group(2)), (0, "12.3", "platform-event pigb 2 hard-deconfigure"))
        for ok, payload, want in ((True, "", (0, "[]")), (True, "unplug=1 plug=1", (0, "[unplug=1 plug=1]")),
                                  (False, "no storm runs", (1, "[no storm runs]"))):
            line = contract.ack("12.3", ok, payload)
            var = "ZR_HOST_OUT" if ok else "ZR_HOST_ERR"
            with self.subTest(line=line):
                self.assertEqual(run_sh(f"zr_rpc_reply 12.3 '{line}'; echo \"$?\"; echo \"[${var}]\""),
                                 (0, f"{want[0]}\n{want[1]}"))
        # An answer to another request is not this one's.
        rc, out = run_sh(f"zr_rpc_reply 12.3 '{contract.ack('12.30', True, '')}'; echo $?")
        self.assertEqual(out, "2")

    def test_every_verb_is_carried_out(self):
        names = {v.name for v in contract.VERBS}
        handlers = {n[3:] for n in dir(control.Control) if n.startswith("do_")}
        self.assertEqual(handlers, {v.ident for v in contract.VERBS})
        self.assertEqual(len(names), len(contract.VERBS))

    def test_tests_send_only_verbs_of_the_table(self):
        import re
        sent, raw = set(), []
        for path in sorted(glob.glob(os.path.join(SELFTESTS, "*.sh"))):
            with open(path, encoding="utf-8") as f:
                text = f.read()
            sent |= set(re.findall(r"\bzr_host_([a-z_]+)", text))
            if not path.endswith("/host.sh"):
                raw += [f"{os.path.basename(path)}: {m}" for m in re.findall(r"\bzr_host \S+", text)]
        self.assertLessEqual(sent, {v.ident for v in contract.VERBS})
        self.assertEqual(raw, [], "a verb sent as a bare string, not through zr_host_VERB")


if __name__ == "__main__":
    unittest.main()
