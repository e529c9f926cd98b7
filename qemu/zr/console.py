# SPDX-License-Identifier: GPL-2.0
"""The guest's console: the markers the guest writes there for the host (the one place the host
reads them), progress logging, and the scan for kernel reports (zr.reports) and lost timers."""

import re
import sys
import time
from collections.abc import Iterator

from .reports import REFINE_WINDOW, classify
from .sysrq import blocked_summary

# Console markers of the guest's init (scripts/selftests/init) and runner (run.sh).
INIT_START = re.compile(r"zr-init: start")
INIT_FINISHED = re.compile(r"zr-init: finished")
TEST_BEGIN = re.compile(r"zr-test: begin (\S+) timeout=(\d+)")
TEST_END = re.compile(r"zr-test: end (\S+) rc=(\d+)")
# run.sh's watchdog, at a test's deadline, before sysrq w and d (zr/sysrq.py).
SYSRQ_DUMP = re.compile(r"zr-test: sysrq dump")

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


def timer_lost(path: str, killed: str | None) -> str | None:
    """The console line that shows a vCPU's lost timer interrupt, for a guest killed at a
    deadline; else None."""
    if killed is None:
        return None
    return next((line.strip() for line in read_lines(path)
                 if KERNEL_LINE.match(line) and TIMER_LOST.search(line)), None)


def sysrq_summaries(path: str) -> dict[str, str]:
    """Map test -> the summary (sysrq.blocked_summary) of the kernel lines after its last sysrq
    dump marker, up to its end marker or the next test's begin."""
    dumps: dict[str, list[str]] = {}
    test, dump = None, None
    for line in read_lines(path):
        m = TEST_BEGIN.search(line) or TEST_END.search(line)
        if m:
            test, dump = m.group(1) if m.re is TEST_BEGIN else None, None
            continue
        if test and SYSRQ_DUMP.search(line):
            dump = dumps[test] = []
        elif dump is not None and KERNEL_LINE.match(line):
            dump.append(line)
    return {t: blocked_summary(lines) for t, lines in dumps.items()}


def kernel_reports(lines: list[str]) -> Iterator[tuple[int, str]]:
    """(index, kind) of every kernel line of `lines` that starts a report (zr.reports)."""
    for i, line in enumerate(lines):
        if KERNEL_LINE.match(line):
            kind = classify(line, "\n".join(lines[i + 1:i + 1 + REFINE_WINDOW]))
            if kind is not None:
                yield i, kind


def scan_console(path: str, expected: set[str]) -> tuple[dict[str, str], list[str]]:
    """Map report kind -> first excerpt, for reports not in `expected`; and every report's
    kind in order."""
    lines = read_lines(path)
    found: dict[str, str] = {}
    seen: list[str] = []
    for i, kind in kernel_reports(lines):
        seen.append(kind)
        if kind not in found:
            found[kind] = "\n".join(lines[max(0, i - 2):i + EXCERPT])
    return {k: v for k, v in found.items() if k not in expected}, seen


def reports_by_test(path: str) -> dict[str, list[str]]:
    """Map test -> the report kinds the console showed while it ran (between its begin marker and
    its end marker or the next test's begin, or the end of the console for a test the host
    ended), in order; reports outside every test under OUTSIDE."""
    lines = read_lines(path)
    test_at: list[str] = []
    test = OUTSIDE
    for line in lines:
        m = TEST_BEGIN.search(line) or TEST_END.search(line)
        if m:
            test = m.group(1) if m.re is TEST_BEGIN else OUTSIDE
        test_at.append(test)
    out: dict[str, list[str]] = {}
    for i, kind in kernel_reports(lines):
        out.setdefault(test_at[i], []).append(kind)
    return out


def early_report(path: str) -> str | None:
    """The first kernel report on the console before the guest's /init started, or None. Nothing
    of the project has run then (no module, no test): such a report (seen once: KASAN's
    wild-memory-access in an interrupt during identify_cpu() at 0.003 s, x86_64 TCG) is not a
    result of the boot."""
    lines = read_lines(path)
    init = next((i for i, line in enumerate(lines) if INIT_START.search(line)), len(lines))
    first = next(kernel_reports(lines[:init]), None)
    return lines[first[0]].strip() if first else None
