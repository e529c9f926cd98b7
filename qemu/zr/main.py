# SPDX-License-Identifier: GPL-2.0
"""zr: the zpci-rrlock harness's one command line (scripts/zr; the Makefile's targets).

  zr test      the whole suite (make test): host tests, the build checks, every boot of
               qemu/suite/boots.toml; ends with "N passed, N failed, N skipped"
  zr run       the demonstration (make run): the s390x boots of boots.toml's [run] list, then
               the stock-vs-patched table of the scenarios they ran
  zr bench     the rescan/remove lock benchmark (make bench): qemu/suite/bench.toml's boots,
               then build/bench-lock.txt (scripts/bench-report.py)
  zr torture   the long torture run (make torture): boots composed from the TORTURE_* options
  zr check     read and check the suite's data (tests, boots, scenarios, machines) and list it
  zr boot      one guest boot (qemu/boot.py's options)

Options of test, run, bench and torture default to the environment (ZR_BOOTS, ZR_MACHINES,
ZR_TESTS, ZR_JOBS, ZR_APPEND, ZR_QEMU, ZR_LINT; TORTURE_*), as make passes them. Every value is
checked before anything runs: a bad one is named, exit status 2, nothing written.
"""

import argparse
import io
import os
import re
import subprocess
import sys

from . import records
from . import scenarios as scenario_table
from .files import load_json
from .machine import UsageError
from .paths import BUILD, LOGS, RUNS, SCRIPTS, VENV_PYTHON
from .session import Session, check_jobs
from .suite import BootSpec, Suite, check_boot, load_suite, machine_names


def env_words(name: str) -> list[str]:
    return os.environ.get(name, "").split()


def common(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--jobs", default=os.environ.get("ZR_JOBS", "2"),
                    help="boots at a time (ZR_JOBS, default 2)")
    ap.add_argument("--append", default=os.environ.get("ZR_APPEND", ""),
                    help="guest kernel parameters added to every boot (ZR_APPEND)")
    ap.add_argument("--qemu", default=os.environ.get("ZR_QEMU") or None,
                    help="qemu-system-s390x for the s390x machines that use Debian's (ZR_QEMU)")
    ap.add_argument("--lint", action="store_true", default=bool(os.environ.get("ZR_LINT")),
                    help="run scripts/lint.sh as one more result (ZR_LINT=1)")


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="zr", description=__doc__.splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.splitlines()[2:]))
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("test", help="the whole suite (make test)")
    t.add_argument("--boots", nargs="*", default=env_words("ZR_BOOTS"),
                   help="only these boots (ZR_BOOTS)")
    t.add_argument("--machines", nargs="*", default=env_words("ZR_MACHINES"),
                   help="only the boots of these machines (ZR_MACHINES)")
    t.add_argument("--tests", nargs="*", default=env_words("ZR_TESTS"),
                   help="only these in-guest tests, in one boot per machine (ZR_TESTS; "
                        "machine s390x unless --machines)")
    common(t)
    r = sub.add_parser("run", help="the demonstration (make run)")
    r.add_argument("--boots", nargs="*", default=env_words("ZR_RUN_BOOTS"),
                   help="the boots to show (ZR_RUN_BOOTS; default: boots.toml's run list)")
    common(r)
    b = sub.add_parser("bench", help="the lock benchmark (make bench)")
    common(b)
    tt = sub.add_parser("torture", help="the long torture run (make torture)")
    for opt, default, what in TORTURE_OPTS:
        tt.add_argument(f"--{opt.lower().removeprefix('torture_')}", dest=opt,
                        default=os.environ.get(opt, default), help=f"{what} ({opt})")
    tt.add_argument("--torture-machines", dest="TORTURE_MACHINES",
                    default=os.environ.get("TORTURE_MACHINES", "s390x x86_64"),
                    help="machines (TORTURE_MACHINES, default both)")
    tt.add_argument("--boots", nargs="*", default=env_words("ZR_BOOTS"),
                    help="only these of the torture boots, e.g. torture-s390x-full (ZR_BOOTS)")
    common(tt)
    c = sub.add_parser("check", help="check the suite's data and list it")
    c.add_argument("--readme", action="store_true",
                   help="print README.md's list of the boots instead")
    bt = sub.add_parser("boot", help="one guest boot (qemu/boot.py)", add_help=False)
    bt.add_argument("rest", nargs=argparse.REMAINDER)
    return ap.parse_args(argv)


# TORTURE_* options: name, default, meaning; their ranges are in torture_plan().
TORTURE_OPTS = (
    ("TORTURE_OPS", "10000", "operations per mix and boot, over all guest workers (0: time "
     "bound only)"),
    ("TORTURE_SECONDS", "3600", "time bound per mix and boot"),
    ("TORTURE_SEED", "", "seed of the operation sequences (default: the guest picks one)"),
    ("TORTURE_WORKERS", "3", "guest workers"),
    ("TORTURE_CYCLES", "100", "lifecycle rounds (0: no lifecycle boot)"),
    ("TORTURE_HOST", "1", "the host's QMP hot-unplug storm"),
    ("TORTURE_FULL", "1", "the patched full-mix boots"),
)
# No leading zero: the guest's shell arithmetic would read "010" as octal.
NUMBER = re.compile(r"^(0|[1-9][0-9]{0,9})$")


def num(name: str, val: str, lo: int, hi: int) -> int:
    if not NUMBER.match(val) or not lo <= int(val) <= hi:
        raise UsageError(f"{name}='{val}' is not a number in {lo}..{hi}")
    return int(val)


def torture_plan(suite: Suite, o: argparse.Namespace) -> list[BootSpec]:
    """make torture's boots (Documentation/torture.rst): for each machine the stock and the
    patched kernel with the safe mix side by side (started together: the same conditions for
    the ratio), every machine's pair first (--jobs 4 runs both pairs at once), then the
    livepatch lifecycle under load (s390x), then the patched full mix of each machine. The
    guests' hung-task threshold is 120 s: with several TCG guests on two cores one operation
    can wait longer than 10 s for a state_lock a slow but progressing operation holds; a
    deadlock still shows, its tasks stay blocked for the rest of the run."""
    ops = num("TORTURE_OPS", o.TORTURE_OPS, 0, 100000000)
    secs = num("TORTURE_SECONDS", o.TORTURE_SECONDS, 1, 86400)
    workers = num("TORTURE_WORKERS", o.TORTURE_WORKERS, 1, 8)
    cycles = num("TORTURE_CYCLES", o.TORTURE_CYCLES, 0, 1000)
    host = num("TORTURE_HOST", o.TORTURE_HOST, 0, 1)
    full = num("TORTURE_FULL", o.TORTURE_FULL, 0, 1)
    seed = [] if o.TORTURE_SEED == "" else [
        f"zr.torture_seed={num('TORTURE_SEED', o.TORTURE_SEED, 0, 2147483647)}"]
    machines = o.TORTURE_MACHINES.split()
    for m in machines:
        if m not in ("s390x", "x86_64"):
            raise UsageError(f"TORTURE_MACHINES: unknown machine '{m}' (s390x, x86_64)")
    # Each torture test gets its time bound plus 10 minutes (restoring, a slow last
    # operation); the boot that plus 10 minutes.
    to = secs + 600
    args = ["sysctl.kernel.hung_task_timeout_secs=120", f"zr.torture_seconds={secs}",
            f"zr.torture_ops={ops}", f"zr.torture_workers={workers}", f"zr.torture_host={host}",
            *seed, f"zr.timeout_zr_torture={to}", f"zr.timeout_zr_torture_full={to}"]
    plan = []
    for m in machines:
        plan.append(BootSpec(f"torture-{m}-stock", m, ["zr_torture"], "the safe mix, stock",
                             allow=["warning"], boot_timeout=to + 600, append=args))
        plan.append(BootSpec(f"torture-{m}-patched", m, ["zr_patch_on", "zr_torture"],
                             "the safe mix with the livepatch", boot_timeout=to + 600,
                             append=args))
    if "s390x" in machines and cycles > 0:
        lto = cycles * 60 + 600
        plan.append(BootSpec("torture-lifecycle", "s390x", ["zr_lifecycle"],
                             "the livepatch lifecycle under load", boot_timeout=lto + 600,
                             append=[f"zr.lifecycle_cycles={cycles}",
                                     f"zr.timeout_zr_lifecycle={lto}"]))
    if full:
        plan += [BootSpec(f"torture-{m}-full", m, ["zr_patch_on", "zr_torture_full"],
                          "the full mix with the livepatch", boot_timeout=to + 600, append=args)
                 for m in machines]
    for b in plan:
        check_boot(f"torture boot '{b.name}'", b, suite.tests)
    for name in o.boots:
        if name not in {b.name for b in plan}:
            raise UsageError(f"ZR_BOOTS: no torture boot '{name}' (these options give: "
                             f"{', '.join(b.name for b in plan)})")
    if o.boots:
        plan = [b for b in plan if b.name in o.boots]
    return plan


def torture_summary(o: argparse.Namespace) -> str:
    """make torture's options in a line (checked by torture_plan() already)."""
    seed = f", zr.torture_seed={o.TORTURE_SEED}" if o.TORTURE_SEED else ""
    return (f"torture: {o.TORTURE_OPS} operations or {o.TORTURE_SECONDS} s per mix and boot, "
            f"{o.TORTURE_WORKERS} guest workers, {o.TORTURE_CYCLES} lifecycle rounds{seed}")


def test_plan(suite: Suite, o: argparse.Namespace) -> list[BootSpec]:
    """The boots of make test, narrowed by --boots, --machines or --tests."""
    names = machine_names()
    for m in o.machines:
        if m not in names:
            raise UsageError(f"ZR_MACHINES: no machine '{m}' (qemu/machines/{m}.toml)")
    for t in o.tests:
        if t not in suite.tests:
            raise UsageError(f"ZR_TESTS: no test '{t}' in scripts/selftests/tests.list")
    known = {b.name for b in suite.boots}
    for b in o.boots:
        if b not in known:
            raise UsageError(f"ZR_BOOTS: no boot '{b}' in qemu/suite/boots.toml")
    if o.tests:
        machines = o.machines or ["s390x"]
        plan = [BootSpec("custom" if len(machines) == 1 else f"custom-{m}", m, list(o.tests),
                         "the tests of ZR_TESTS") for m in machines]
        for b in plan:
            check_boot(f"ZR_TESTS ({b.machine})", b, suite.tests)
        return plan
    if o.boots:
        return [b for b in suite.boots if b.name in o.boots]
    if o.machines:
        plan = [b for b in suite.boots if b.machine in o.machines]
        if not plan:
            raise UsageError(f"ZR_MACHINES: no boot on a machine in '{' '.join(o.machines)}'")
        return plan
    return list(suite.boots)


def session(suite: Suite, plan: list[BootSpec], o: argparse.Namespace) -> Session:
    jobs = check_jobs(o.jobs)
    if o.qemu and not (os.path.isfile(o.qemu) and os.access(o.qemu, os.X_OK)):
        raise UsageError(f"ZR_QEMU='{o.qemu}' is not an executable file")
    return Session(suite, plan, jobs=jobs, lint=o.lint, append=o.append, qemu=o.qemu)


def show_run(suite: Suite, plan: list[BootSpec]) -> None:
    """make run's end: the table of the scenarios its boots ran, and a line per boot."""
    ran = {b.name for b in plan}
    print("\nzpci-rrlock: stock 7.3.4 vs the livepatch")
    print("=========================================")
    print(scenario_table.text(scenario_table.rows(suite.scenarios, RUNS, ran)))
    print("\nBoots\n-----")
    for b in plan:
        s = load_json(os.path.join(RUNS, b.name, "summary.json"))
        if s is None:
            print(f"{b.name}: no result (see {LOGS}/run.log)")
            continue
        reports = sorted(set(s["reports_seen"]))
        print(f"{b.name}: {', '.join(b.tests)}")
        print(f"  kernel reports: {', '.join(reports) if reports else 'none'}")
        if s.get("killed"):
            print(f"  guest ended by the host: {s['killed']}")
        print(f"  results: {s['passed']} passed, {s['failed']} failed, {s['skipped']} skipped")
        for f in s["failures"]:
            print(f"  FAILED {f}")
    print("\nThe stock boots must show what boots.toml requires of them (s1-stock and sriov-stock "
          "the circular-locking\nreport of S1, stock-nest a recursive-locking report and a hung "
          "task, sriov-remove-stock both,\nsriov-unload-stock S6's WARNING); the patched boots "
          "must show none.")
    print(f"Console logs: {RUNS}/<boot>/console.log")


README_BEGIN = ("<!-- The boots of make test: generated from qemu/suite/boots.toml by "
                "`scripts/zr check --readme`. -->")
README_END = "<!-- end of the generated list -->"


def readme_boots(suite: Suite) -> str:
    """README.md's list of the boots of make test, by machine, from the data."""
    out = [README_BEGIN]
    for machine in dict.fromkeys(b.machine for b in suite.boots):
        out.append(f"* {machine}:")
        for b in suite.boots:
            if b.machine == machine:
                first = b.patched_from()
                kernel = ("stock" if first is None else "livepatch" if first == 0
                          else "stock, then the livepatch")
                out.append(f"  * `{b.name}` ({kernel}): {b.title}")
    out.append(README_END)
    return "\n".join(out) + "\n"


def check(suite: Suite, readme: bool) -> int:
    if readme:
        sys.stdout.write(readme_boots(suite))
        return 0
    for b in suite.boots + suite.bench:
        print(f"boot {b.name} ({b.machine}): {', '.join(b.tests)}")
    for s in suite.scenarios:
        stock = f"{s.stock.boot}:{s.stock.test}" if s.stock else f"n/a ({s.no_stock})"
        print(f"scenario {s.id} ({s.machine}): stock {stock}, patched "
              f"{s.patched.boot}:{s.patched.test}")
    print(f"{len(suite.tests)} tests, {len(suite.boots)} boots, {len(suite.bench)} bench boots, "
          f"{len(suite.scenarios)} scenarios: consistent")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Our lines and those of the steps and boots we start share stdout: keep them in order.
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True)
    if argv[:1] == ["boot"]:
        try:
            from . import cli  # the boot runner needs the venv's qemu.qmp; the rest does not
        except ModuleNotFoundError as e:
            print(f"zr boot: {e}: the boot runner needs the harness's venv ({VENV_PYTHON}, "
                  "which scripts/bootstrap.sh makes)", file=sys.stderr)
            return 2
        return cli.main(argv[1:])
    o = parse_args(argv)
    try:
        suite = load_suite()
        if o.cmd == "check":
            return check(suite, o.readme)
        if o.cmd == "test":
            return session(suite, test_plan(suite, o), o).run()
        if o.cmd == "run":
            known = {b.name for b in suite.boots}
            for b in o.boots:
                if b not in known:
                    raise UsageError(f"ZR_RUN_BOOTS: no boot '{b}' in qemu/suite/boots.toml")
            plan = [b for b in suite.boots if b.name in (o.boots or suite.run)]
            s = session(suite, plan, o)
        elif o.cmd == "bench":
            s = session(suite, list(suite.bench), o)
        else:
            s = session(suite, torture_plan(suite, o), o)
            print(f"# {torture_summary(o)}", file=sys.stderr)
    except UsageError as e:
        print(f"zr {o.cmd}: {e}", file=sys.stderr)
        return 2
    if o.cmd == "run":
        rc = s.run()
        show_run(suite, s.plan)
        return rc
    if o.cmd == "bench":
        for b in s.plan:
            stale = os.path.join(RUNS, b.name, records.FILE)
            if os.path.exists(stale):
                os.unlink(stale)
        rc = s.run()
        out = os.path.join(BUILD, "bench-lock.txt")
        if os.path.exists(out):
            os.unlink(out)
        if subprocess.run([sys.executable, os.path.join(SCRIPTS, "bench-report.py"), out,
                           *(os.path.join(RUNS, b.name) for b in s.plan)],
                          check=False).returncode:
            print(f"zr bench: incomplete results (consoles: {RUNS}/bench-*)", file=sys.stderr)
            return 1
        print(f"# bench: wrote {out}")
        return rc
    rc = s.run()
    if os.path.exists(os.path.join(BUILD, "torture.md")):
        print(f"# torture: figures in {BUILD}/torture.md")
    return rc
