# SPDX-License-Identifier: GPL-2.0
"""One run of the suite (make test, run, bench, torture): set-up, host tests, the build checks
and the guest boots, recorded as results and summed up in the line "N passed, N failed,
N skipped".

  1. bootstrap (scripts/bootstrap.sh), host-side tests (scripts/host-tests.sh), the linters
     when asked;
  2. each machine prepared once, the machines in parallel (scripts/prepare-machine.sh: our QEMU
     if the machine runs it, the kernel, the module builds, the initramfs);
  3. per architecture, the build checks: a changed replaced function must be refused
     (source-check-ARCH) and the lock's fast paths must be free of interlocked instructions
     (lock-fastpath-ARCH);
  4. the boots, `jobs` at a time, each through the boot runner (zr.cli); a boot that QEMU
     crashed, stalled in early boot or lost a vCPU's timer interrupt under is run again, at
     most three times in all, each crashed run kept beside it;
  5. the results, the scenario table, lockdep graphs and torture figures.
"""

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from . import records
from . import scenarios as scenario_table
from .checks import Prepared, build_checks
from .console import log
from .files import load_json
from .files import read_text as read
from .machine import UsageError
from .paths import BUILD, LOGS, RUNS, SCRIPTS, VENV_PYTHON
from .record import Results, step
from .suite import DISTRO_KERNEL, MACHINES, TOP, BootSpec, Suite, check_machine

# How often a boot runs at most when QEMU, not the guest, spoiled it.
TRIES = 3


class Session:
    """The run: a plan of boots, the results, and what was prepared for them."""

    def __init__(self, suite: Suite, plan: list[BootSpec], jobs: int = 2, lint: bool = False,
                 append: str = "", qemu: str | None = None) -> None:
        self.suite = suite
        self.plan = plan
        self.jobs = jobs
        self.lint = lint
        self.append = append
        self.qemu = qemu
        self.results = Results()
        self.prepared: dict[str, Prepared] = {}
        self.ran: list[str] = []

    # -- set-up ----------------------------------------------------------------------------
    def setup(self) -> bool:
        """Bootstrap, host tests, linters, the machines and the build checks; False (with a
        failed "setup" result) if the run cannot go on."""
        os.makedirs(BUILD, exist_ok=True)
        if subprocess.run([os.path.join(SCRIPTS, "bootstrap.sh")], check=False).returncode:
            self.results.fail("setup", "bootstrap (see the log named above)")
            return False
        host = os.path.join(BUILD, "host-tests.txt")
        for stale in (host, host + ".failures"):
            if os.path.exists(stale):
                os.unlink(stale)
        subprocess.run([os.path.join(SCRIPTS, "host-tests.sh"), host], check=False)
        self.results.read_host_tests(host)
        if self.lint:
            if step("lint", [os.path.join(SCRIPTS, "lint.sh")]):
                self.results.ok("lint")
            else:
                self.results.fail("lint", "rustfmt/clippy/shellcheck/checkpatch findings "
                                  f"(log: {LOGS}/lint.log)")
        if not self.prepare_machines():
            return False
        build_checks(self.prepared.values(), self.results)
        ours = next((p.qemu for p in self.prepared.values() if p.qemu), None)
        if ours:
            our = os.path.join(BUILD, "our-qemu-tests.txt")
            for stale in (our, our + ".failures"):
                if os.path.exists(stale):
                    os.unlink(stale)
            subprocess.run([os.path.join(SCRIPTS, "host-tests.sh"), our, "--our-qemu", ours],
                           check=False)
            self.results.read_host_tests(our)
        return True

    def prepare_machines(self) -> bool:
        names = list(dict.fromkeys(b.machine for b in self.plan))
        out = os.path.join(BUILD, "prepare")
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        machines = {n: check_machine(n)["machine"] for n in names}
        # Debian's kernel tree is prepared in a chroot (scripts/build-distro.sh): not without
        # root, where its machine's boots are skipped.
        if os.geteuid() != 0:
            for name in [n for n in names if machines[n]["kernel"] == DISTRO_KERNEL]:
                names.remove(name)
                for b in [b for b in self.plan if b.machine == name]:
                    print(f"# SKIP {b.name}: machine {name} boots Debian's kernel, whose tree "
                          "needs root to prepare (debootstrap, chroot)")
                    self.results.add(b.name, 0, 0, 1)
                self.plan = [b for b in self.plan if b.machine != name]

        def prepare(name: str) -> int:
            m = machines[name]
            return subprocess.run([os.path.join(SCRIPTS, "prepare-machine.sh"), name, m["arch"],
                                   m["kernel"], "1" if m.get("qemu_patched") else "0"],
                                  check=False).returncode

        with ThreadPoolExecutor(max_workers=max(1, len(names))) as pool:
            list(pool.map(prepare, names))
        for name in names:
            fail = os.path.join(out, f"{name}.fail")
            kdir = os.path.join(out, f"{name}.kdir")
            if os.path.exists(fail):
                self.results.fail("setup", f"{read(fail).strip()} (see the log named above)")
                return False
            if not os.path.exists(kdir):
                self.results.fail("setup", f"preparing machine {name} (see the log named above)")
                return False
            qemu = os.path.join(out, f"{name}.qemu")
            self.prepared[name] = Prepared(
                name, machines[name]["arch"], machines[name]["kernel"], read(kdir).strip(),
                os.path.join(BUILD, "guest", name, "initramfs.cpio"),
                read(qemu).strip() if os.path.exists(qemu) else None)
        return True

    # -- boots -----------------------------------------------------------------------------
    def boot_argv(self, b: BootSpec) -> list[str]:
        p = self.prepared[b.machine]
        argv = [VENV_PYTHON, os.path.join(TOP, "qemu", "boot.py"),
                "--machine", os.path.join(MACHINES, f"{b.machine}.toml"),
                "--kernel", os.path.join(p.kdir, "zr-image"), "--initrd", p.initrd,
                "--rundir", os.path.join(RUNS, b.name), "--name", b.name,
                "--append", " ".join([f"zr.tests={','.join(b.tests)}", *b.append,
                                      self.append]).strip(),
                *b.runner_args()]
        if p.qemu:
            argv += ["--qemu", p.qemu]
        elif self.qemu and p.arch == "s390x":
            argv += ["--qemu", self.qemu]
        return argv

    def run_boot(self, b: BootSpec) -> None:
        """One boot, run again (kept as NAME.crashed, NAME.crashed2) if QEMU, not the guest,
        spoiled it: QEMU crashing (an emulator bug, e.g. QEMU 10.0.2's s390x segfault around
        zPCI hot-plug), a guest stalled in early boot before /init (TCG on a loaded host), a
        guest killed at a deadline after RCU saw a vCPU's timer interrupt never come or with
        every vCPU halted in the idle loop and no hung task (diagnose.tcg_freeze), or a
        kernel report before /init, when nothing of the project has run."""
        rundir = os.path.join(RUNS, b.name)
        for stale in (rundir, f"{rundir}.crashed", f"{rundir}.crashed2"):
            shutil.rmtree(stale, ignore_errors=True)
        for stale in (f"{rundir}.rc", f"{rundir}.retry"):
            if os.path.exists(stale):
                os.unlink(stale)
        for attempt in range(1, TRIES + 1):
            os.makedirs(rundir, exist_ok=True)
            with open(f"{rundir}.ktap", "w", encoding="utf-8") as out:
                rc = subprocess.run(self.boot_argv(b), stdout=out, check=False).returncode
            with open(f"{rundir}.rc", "w", encoding="utf-8") as f:
                f.write(f"{rc}\n")
            spoiled = emulator_fault(os.path.join(rundir, "summary.json"))
            if not spoiled or attempt == TRIES:
                return
            kept = f"{rundir}.crashed" + ("" if attempt == 1 else str(attempt))
            log(f"{b.name}: {spoiled}; running the boot once more (run {attempt} kept: {kept})")
            with open(f"{rundir}.retry", "a", encoding="utf-8") as f:
                f.write(f"run {attempt}: {spoiled}\n")
            os.rename(rundir, kept)

    def collect(self, b: BootSpec, ktap: list[str]) -> None:
        rundir = os.path.join(RUNS, b.name)
        rc = read(f"{rundir}.rc").strip()
        retry = read(f"{rundir}.retry").strip()
        if retry:
            print(f"# {b.name}: the earlier runs did not count: {'; '.join(retry.splitlines())}")
        ktap.append(read(f"{rundir}.ktap"))
        summary = load_json(os.path.join(rundir, "summary.json"))
        if rc == "2" or summary is None:
            self.results.fail(b.name, f"boot runner failed (exit {rc or '?'}, see {rundir})")
            return
        self.results.add(b.name, summary["passed"], summary["failed"], summary["skipped"],
                         *summary["failures"])

    def run_boots(self) -> None:
        os.makedirs(RUNS, exist_ok=True)
        self.ran = [b.name for b in self.plan]
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            futures = [pool.submit(self.run_boot, b) for b in self.plan]
            for fut in futures:
                fut.result()
        ktap: list[str] = []
        for b in self.plan:
            self.collect(b, ktap)
        with open(os.path.join(BUILD, "results.ktap"), "w", encoding="utf-8") as f:
            f.write("".join(ktap))

    # -- outputs ---------------------------------------------------------------------------
    def outputs(self) -> None:
        """The scenario table, the lock-order graphs and the torture figures of the boots that
        ran."""
        if not self.ran:
            return
        md = os.path.join(BUILD, "scenarios.md")
        for name, why in scenario_table.verdicts(self.suite.scenarios, RUNS, set(self.ran)):
            if why is None:
                self.results.ok(name)
            else:
                self.results.fail(name, why)
        scenario_table.write(self.suite.scenarios, RUNS, md, set(self.ran))
        print(f"# Scenario table: {md}")
        for name in self.ran:
            self.lockdep_graph(name)
        torture = os.path.join(BUILD, "torture.md")
        if subprocess.run([sys.executable, os.path.join(SCRIPTS, "torture-report.py"), torture,
                           RUNS, *self.ran], stderr=subprocess.DEVNULL,
                          check=False).returncode == 0:
            print(f"# Torture figures: {torture}")

    def lockdep_graph(self, name: str) -> None:
        """The lock order a boot that sent its /proc/lockdep (zr_lockdep) saw, drawn from
        lockdep's own data: build/lockdep-BOOT.dot, .svg (graphviz), .cycles (one line a
        cycle); the copy of /proc/lockdep in build/runs/BOOT/lockdep.txt."""
        try:
            dumps = records.read_records(os.path.join(RUNS, name), "lockdep")
        except records.RecordError as e:
            log(f"lockdep graph of {name}: {e}")
            return
        if not dumps:
            return
        k = os.path.join(RUNS, name, "lockdep.txt")
        with open(k, "w", encoding="utf-8") as f:
            f.write(str(dumps[-1]["proc_lockdep"]) + "\n")
        base = os.path.join(BUILD, f"lockdep-{name}")
        with open(f"{base}.cycles", "w", encoding="utf-8") as err:
            rc = subprocess.run([sys.executable, os.path.join(SCRIPTS, "lockdep-graph.py"),
                                 "--highlight-cycles", "--title", f"lock order seen by boot {name}",
                                 "--report", os.path.join(RUNS, name, "console.log"),
                                 "-o", f"{base}.dot", "--svg", f"{base}.svg", k],
                                stderr=err, check=False).returncode
        if rc == 0:
            n = sum(1 for line in read(f"{base}.cycles").splitlines()
                    if line.startswith("cycle:"))
            print(f"# Lock order of {name}: {base}.svg ({n} cycles)")

    def finish(self) -> int:
        """The summary, build/results.json, and the last line; the exit status."""
        self.outputs()
        print("# Summary")
        for r in self.results.records:
            print(f"#   {r.name}: {r.passed} passed, {r.failed} failed, {r.skipped} skipped")
        for r in self.results.records:
            for why in r.failures:
                print(f"# FAILED {r.name}: {why}")
        p, f, s = self.results.totals()
        os.makedirs(BUILD, exist_ok=True)
        with open(os.path.join(BUILD, "results.json"), "w", encoding="utf-8") as out:
            json.dump({"passed": p, "failed": f, "skipped": s,
                       "records": [r.__dict__ for r in self.results.records]}, out, indent=1)
        print(f"{p} passed, {f} failed, {s} skipped", flush=True)
        return 0 if f == 0 else 1

    def run(self) -> int:
        if self.setup():
            self.run_boots()
        return self.finish()


def emulator_fault(summary_path: str) -> str:
    """What spoiled a boot from QEMU's side (summary.json of zr.cli), or ""."""
    s = load_json(summary_path)
    if s is None:
        return ""
    if s.get("qemu_crash"):
        return str(s["qemu_crash"])
    if s.get("early_stall"):
        return f"early boot stalled: {s['early_stall']}"
    if s.get("timer_lost"):
        return f"a vCPU lost its timer interrupt (TCG): {s['timer_lost']}"
    if s.get("tcg_freeze"):
        return f"the guest froze (TCG): {s['tcg_freeze']}"
    if s.get("early_report"):
        return f"a kernel report before /init: {s['early_report']}"
    return ""


def check_jobs(val: str) -> int:
    if not val.isdigit() or not 1 <= int(val) <= 99 or val.startswith("0"):
        raise UsageError(f"ZR_JOBS='{val}' must be a number in 1..99")
    return int(val)
