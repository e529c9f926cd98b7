# SPDX-License-Identifier: GPL-2.0
"""The results of a run (one record per boot, host-test suite or set-up step, summed up in the
line "N passed, N failed, N skipped") and the set-up steps that produce some of them."""

import contextlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field

from .console import log
from .paths import LOGS

# A long step says it is still running this often (seconds).
HEARTBEAT = 30


@dataclass
class Record:
    """One result of the run: a boot, a host-test suite or a set-up step."""
    name: str
    passed: int
    failed: int
    skipped: int
    failures: list[str] = field(default_factory=list)


class Results:
    def __init__(self) -> None:
        self.records: list[Record] = []

    def add(self, name: str, passed: int, failed: int, skipped: int, *failures: str) -> None:
        self.records.append(Record(name, passed, failed, skipped, list(failures)))

    def ok(self, name: str) -> None:
        self.add(name, 1, 0, 0)

    def fail(self, name: str, why: str) -> None:
        self.add(name, 0, 1, 0, why)

    def read_host_tests(self, path: str) -> None:
        """The lines scripts/host-tests.sh appends: NAME PASSED FAILED SKIPPED, and FAILED
        lines in PATH.failures."""
        failures: dict[str, list[str]] = {}
        try:
            with open(path + ".failures", encoding="utf-8") as f:
                for line in f:
                    name, _, what = line.removeprefix("FAILED ").rstrip("\n").partition(": ")
                    failures.setdefault(name, []).append(what)
        except FileNotFoundError:
            pass
        try:
            with open(path, encoding="utf-8") as f:
                for line in f:
                    name, p, fl, s = line.split()
                    self.add(name, int(p), int(fl), int(s), *failures.get(name, []))
        except (OSError, ValueError):
            self.fail("host-tests", f"no results in {path}")

    def totals(self) -> tuple[int, int, int]:
        return (sum(r.passed for r in self.records), sum(r.failed for r in self.records),
                sum(r.skipped for r in self.records))


def step(name: str, argv: list[str], env: dict[str, str] | None = None,
         stdout: str | None = None) -> bool:
    """Run argv with its output in build/logs/NAME.log (stdout to the file `stdout` if given),
    a heartbeat every HEARTBEAT seconds, and on failure an error naming the step, the log and
    its last lines."""
    os.makedirs(LOGS, exist_ok=True)
    path = os.path.join(LOGS, f"{name}.log")
    t0 = time.monotonic()
    log(f"step {name}: started (log: {path})")
    with open(path, "w", encoding="utf-8") as lf, \
            (open(stdout, "w", encoding="utf-8") if stdout else contextlib.nullcontext(lf)) as out:
        p = subprocess.Popen(argv, stdout=out, stderr=lf, env=env)
        while True:
            try:
                rc = p.wait(HEARTBEAT)
                break
            except subprocess.TimeoutExpired:
                log(f"step {name}: running for {time.monotonic() - t0:.0f}s, last: "
                    f"{last_line(path)[:100]}")
    if rc != 0:
        log(f"ERROR: step {name} failed (exit {rc}); log: {path}")
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f.read().splitlines()[-25:]:
                print(f"    {line}", file=sys.stderr)
        return False
    log(f"step {name}: done in {time.monotonic() - t0:.0f}s")
    return True


def last_line(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
        return lines[-1] if lines else ""
    except OSError:
        return ""
