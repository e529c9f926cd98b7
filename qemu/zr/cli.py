# SPDX-License-Identifier: GPL-2.0
"""Boot a zpci-rrlock test guest in QEMU and turn what it did into KTAP results.

The machine comes from a TOML definition (qemu/machines/*.toml). While the guest runs, the runner
  * serves the guest's host requests (hot-unplug / re-plug a named PCI function, ...) that
    arrive over a virtio-serial port, acting through QMP (qemu.qmp) and answering when the
    matching DEVICE_DELETED event (by data.device) has arrived (zr.control);
  * tails the console log, shows progress, enforces the deadline of the whole boot and of each
    test (announced by the guest with "zr-test: begin NAME timeout=N"), killing a hung guest
    (zr.runner);
  * scans the console for kernel reports (zr.reports, zr.console).
Afterwards it merges the guest's KTAP (second virtio-serial port) with its own checks
(zr.verdict) into RUNDIR/results.ktap and RUNDIR/summary.json. Everything is kept in RUNDIR:
console.log, qmp.log (QMP transcript), guest.ktap, results.ktap.

Exit status: 0 if every result passed or was skipped, 1 otherwise, 2 on a usage error.
"""

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time

from . import console, records
from .diagnose import emulator_crash, tcg_freeze
from .files import read_text as read
from .ktap import Results, parse_guest_ktap
from .machine import UsageError, load_machine, qemu_binary
from .runner import Runner
from .verdict import Boot, Expectations, host_checks, judge_suites


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="zr boot", description=__doc__.splitlines()[0])
    ap.add_argument("--machine", required=True, help="machine definition (TOML)")
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--initrd", required=True)
    ap.add_argument("--rundir", required=True, help="directory for logs and results")
    ap.add_argument("--name", default="boot", help="name of this boot in the results")
    ap.add_argument("--append", default="", help="extra kernel command line")
    ap.add_argument("--qemu", help="the QEMU binary (our build: required by a qemu_patched "
                    "machine; else overrides the machine's 'qemu')")
    ap.add_argument("--timeout", type=int, default=600, help="deadline of the whole boot (s)")
    ap.add_argument("--grace", type=int, default=30, help="slack on each test's deadline (s)")
    ap.add_argument("--init-timeout", type=int, default=180,
                    help="deadline for reaching /init (s): a guest stalled in early boot, before "
                         "any test or module ran, is killed then and reported as a stall")
    ap.add_argument("--expect-report", action="append", default=[], metavar="KIND",
                    help="a report kind this boot is expected to show (e.g. lockdep-circular)")
    ap.add_argument("--allow-report", action="append", default=[], metavar="KIND",
                    help="a report kind this boot may show without failing (a stock-kernel "
                         "outcome that depends on timing, e.g. hung-task after a racy deadlock)")
    ap.add_argument("--expect-fail", action="append", default=[], metavar="SUITE",
                    help="a guest suite expected to fail (harness self-tests)")
    ap.add_argument("--expect-timeout", metavar="SUITE",
                    help="the guest suite expected to hang until the host kills the guest "
                         "(a deadlock on the stock kernel)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    expect = Expectations(args.expect_report, args.allow_report, args.expect_fail,
                          args.expect_timeout)
    try:
        for p in (args.kernel, args.initrd):
            if not os.path.isfile(p):
                raise UsageError(f"no such file: {p}")
        if args.timeout <= 0 or args.grace < 0 or args.init_timeout <= 0:
            raise UsageError("--timeout and --init-timeout must be > 0 and --grace >= 0")
        errors = expect.errors()
        if errors:
            raise UsageError(errors[0])
        machine = load_machine(args.machine)
        qemu_binary(machine, args.qemu)
    except UsageError as e:
        print(f"boot.py: {e}", file=sys.stderr)
        return 2
    os.makedirs(args.rundir, exist_ok=True)
    for stale in ("console.log", "guest.ktap", records.FILE, "results.ktap", "summary.json"):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(args.rundir, stale))

    runner = Runner(args, machine)
    asyncio.run(runner.run())

    res = Results()
    guest = read(os.path.join(args.rundir, "guest.ktap"))
    con = console.Console.read(os.path.join(args.rundir, "console.log"))
    plan, nsuites = parse_guest_ktap(guest, runner.timeouts, con.sysrq_summaries(), res)
    judge_suites(res, expect)
    unexpected = con.unexpected(set(expect.reports) | set(expect.allowed))
    seen = con.seen()
    crash = emulator_crash(runner.proc.returncode if runner.proc else None, runner.killed,
                           os.path.join(args.rundir, "qemu.out"))
    by_test = con.reports_by_test()
    boot = Boot(runner.reached_init, runner.finished, runner.killed, runner.timeouts, guest,
                plan, nsuites, crash, seen, unexpected, by_test, runner.shutdown_hung)
    host = host_checks(boot, expect)
    data = records.verdict(args.rundir)
    if data is not None:
        host.append((data[0], data[1], ""))
    res.add_suite(f"{args.name}-host", host)

    ktap = res.ktap()
    with open(os.path.join(args.rundir, "results.ktap"), "w", encoding="utf-8") as f:
        f.write(ktap)
    p, fl, s = res.counts()
    # A guest killed only because its shutdown hung delivered all it had: no emulator fault.
    at_deadline = None if runner.shutdown_hung else runner.killed
    summary = {"name": args.name, "passed": p, "failed": fl, "skipped": s,
               "failures": res.failures(), "reports_seen": seen,
               "reports_by_test": by_test, "killed": runner.killed,
               "qemu_crash": crash, "early_stall": runner.stalled,
               "timer_lost": con.timer_lost(at_deadline),
               "early_report": con.early_report(),
               "tcg_freeze": tcg_freeze(at_deadline, seen,
                                        read(os.path.join(args.rundir, "vcpu-state.txt"))),
               "seconds": round(time.monotonic() - runner.t0, 1)}
    with open(os.path.join(args.rundir, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    sys.stdout.write(ktap)
    for kind, excerpt in unexpected.items():
        print(f"# {args.name}: {kind} report in {args.rundir}/console.log:", file=sys.stderr)
        for line in excerpt.splitlines():
            print(f"#   {line}", file=sys.stderr)
    for failure in res.failures():
        print(f"# FAILED {args.name}: {failure}", file=sys.stderr)
    console.log(f"{args.name}: {p} passed, {fl} failed, {s} skipped (logs: {args.rundir})")
    return 0 if fl == 0 else 1
