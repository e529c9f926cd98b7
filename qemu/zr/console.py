# SPDX-License-Identifier: GPL-2.0
"""The guest's console: the markers the guest writes there for the host (the one place the host
reads them), progress logging, and the scan for kernel reports (zr.reports) and lost timers."""

import re
import sys
import time
from dataclasses import dataclass

from . import contract
from .reports import REFINE_WINDOW, classify
from .sysrq import blocked_summary

# The console markers of the guest's /init and runner (zr.contract, the one place they are
# written).
INIT_START = contract.INIT_START.pattern
INIT_FINISHED = contract.INIT_FINISHED.pattern
TEST_BEGIN = contract.TEST_BEGIN.pattern
TEST_END = contract.TEST_END.pattern
SYSRQ_DUMP = contract.SYSRQ_DUMP.pattern

# reports_by_test's name for the kernel's lines outside every test (boot, /init, between tests).
OUTSIDE = "(outside the tests)"
# Only kernel messages count (PRINTK_TIME stamps them); the guest's own KTAP, echoed to the
# console, may quote the same words.
KERNEL_LINE = re.compile(r"^\[\s*\d+\.\d+\]")
# Lines of context kept around a report in the failure message.
EXCERPT = 12


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# QEMU's TCG at times stops delivering a vCPU's timer interrupt (seen on x86_64 under load): RCU
# then reports that its kthread's timer never fired. A guest that hangs after this is the
# emulator's fault, not the kernel's, like an early-boot stall.
TIMER_LOST = re.compile(r"rcu: \S+ kthread timer wakeup didn't happen for \d+ jiffies")


def read_lines(path: str) -> list[str]:
    """The console's lines; none if it cannot be read."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().splitlines()
    except OSError:
        return []


@dataclass(frozen=True)
class Report:
    """A kernel line that starts a report: its index in the console, its kind (zr.reports) and
    the test that ran then (OUTSIDE if none)."""

    index: int
    kind: str
    test: str


@dataclass(frozen=True)
class Console:
    """A boot's console, read once: its lines, the test each line belongs to (between a test's
    begin marker and its end marker or the next test's begin, or the end of the console for a
    test the host ended; OUTSIDE elsewhere) and every kernel report, classified in one pass.

    # Invariants
    `tests` has one entry per line of `lines`; `reports` is in console order and each
    report's index is a kernel line of `lines`.
    """

    lines: list[str]
    tests: list[str]
    reports: list[Report]

    @classmethod
    def read(cls, path: str) -> "Console":
        return cls.parse(read_lines(path))

    @classmethod
    def parse(cls, lines: list[str]) -> "Console":
        tests: list[str] = []
        reports: list[Report] = []
        test = OUTSIDE
        for i, line in enumerate(lines):
            m = TEST_BEGIN.search(line) or TEST_END.search(line)
            if m:
                test = m.group(1) if m.re is TEST_BEGIN else OUTSIDE
            tests.append(test)
            if KERNEL_LINE.match(line):
                kind = classify(line, "\n".join(lines[i + 1:i + 1 + REFINE_WINDOW]))
                if kind is not None:
                    reports.append(Report(i, kind, test))
        return cls(lines, tests, reports)

    def seen(self) -> list[str]:
        """Every report's kind, in console order."""
        return [r.kind for r in self.reports]

    def unexpected(self, expected: set[str]) -> dict[str, str]:
        """Map report kind -> the excerpt around its first report, for kinds not in
        `expected`."""
        found: dict[str, str] = {}
        for r in self.reports:
            if r.kind not in expected and r.kind not in found:
                found[r.kind] = "\n".join(self.lines[max(0, r.index - 2):r.index + EXCERPT])
        return found

    def reports_by_test(self) -> dict[str, list[str]]:
        """Map test -> the report kinds the console showed while it ran, in order; reports
        outside every test under OUTSIDE."""
        out: dict[str, list[str]] = {}
        for r in self.reports:
            out.setdefault(r.test, []).append(r.kind)
        return out

    def sysrq_summaries(self) -> dict[str, str]:
        """Map test -> the summary (sysrq.blocked_summary) of the kernel lines after its last
        sysrq dump marker, up to its end marker or the next test's begin."""
        dumps: dict[str, list[str]] = {}
        dump: list[str] | None = None
        for i, line in enumerate(self.lines):
            if self.tests[i] == OUTSIDE or TEST_BEGIN.search(line):
                dump = None
            elif SYSRQ_DUMP.search(line):
                dump = dumps[self.tests[i]] = []
            elif dump is not None and KERNEL_LINE.match(line):
                dump.append(line)
        return {t: blocked_summary(lines) for t, lines in dumps.items()}

    def timer_lost(self, killed: str | None) -> str | None:
        """The console line that shows a vCPU's lost timer interrupt, for a guest killed at a
        deadline; else None."""
        if killed is None:
            return None
        return next((line.strip() for line in self.lines
                     if KERNEL_LINE.match(line) and TIMER_LOST.search(line)), None)

    def early_report(self) -> str | None:
        """The first kernel report on the console before the guest's /init started, or None.
        Nothing of the project has run then (no module, no test): such a report (seen once:
        KASAN's wild-memory-access in an interrupt during identify_cpu() at 0.003 s, x86_64
        TCG) is not a result of the boot."""
        init = next((i for i, line in enumerate(self.lines) if INIT_START.search(line)),
                    len(self.lines))
        first = next((r for r in self.reports if r.index < init), None)
        return self.lines[first.index].strip() if first else None
