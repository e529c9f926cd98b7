#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The kernel reports of a zpci-rrlock guest: the one table of their kinds and patterns.

The host classifies a boot's console with it (zr.console); the guest's tests scan their part of
the kernel log with the same patterns, written for them as POSIX EREs into the initramfs
(``reports.py --guest-shell`` > /selftests/reports.sh, by scripts/mkinitramfs.sh). Each kind has
both forms here, side by side, and scripts/test_guest_helpers.py feeds recorded report lines
through both.
"""

import re
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """One kind of kernel report: its name (as qemu/suite/boots.toml expects it), the pattern of
    its first line for the host (Python) and for the guest (POSIX ERE matching the same lines,
    without backslashes: awk -v would eat them), and its group in the guest's counts (lockdep,
    hung, fault)."""
    name: str
    host: re.Pattern[str]
    guest: str
    group: str


REPORTS = [
    Kind("lockdep-circular", re.compile(r"WARNING: possible circular locking dependency detected"),
         "WARNING: possible circular locking dependency detected", "lockdep"),
    Kind("lockdep-recursive", re.compile(r"WARNING: possible recursive locking detected"),
         "WARNING: possible recursive locking detected", "lockdep"),
    Kind("lockdep-unlock-balance", re.compile(r"WARNING: bad unlock balance detected"),
         "WARNING: bad unlock balance detected", "lockdep"),
    # Any other lockdep WARNING (the guest's ERE has no look-ahead: it matches the three above as
    # well, which are of the same group).
    Kind("lockdep-other", re.compile(r"WARNING: (?!possible circular|possible recursive|bad unlock)"
                                     r"[^\n]*(lock|held)"),
         "WARNING: .*(lock|held)", "lockdep"),
    Kind("hung-task", re.compile(r"INFO: task \S+ blocked for more than \d+ seconds"),
         "INFO: task [^ ]+ blocked for more than [0-9]+ seconds", "hung"),
    # KASAN's report ("BUG: KASAN: slab-use-after-free in F+0x../0x.."), before the other
    # "BUG: " lines: the first kind that matches counts.
    Kind("kasan", re.compile(r"BUG: KASAN: "), "BUG: KASAN: ", "fault"),
    # Any other "BUG: ..." (scheduling while atomic) and BUG()/BUG_ON(): "kernel BUG at F:L!".
    Kind("bug", re.compile(r"(?<![\w\]])BUG: |kernel BUG at \S+:\d+!"),
         "(^|[^]_[:alnum:]])BUG: |kernel BUG at [^ ]+:[0-9]+!", "fault"),
    # Both __warn() formats: "WARNING: CPU: 0 PID: 1 at FILE:LINE ..." (before 6.18) and
    # "WARNING: FILE:LINE at FUNC+0x../0x.., CPU#0: COMM/PID" (7.x).
    Kind("warning", re.compile(r"WARNING: (CPU: \d+ PID: \d+ at |\S+:\d+ at \S+, CPU#\d+: )"),
         "WARNING: (CPU: [0-9]+ PID: [0-9]+ at |[^ ]+:[0-9]+ at [^ ]+, CPU#[0-9]+: )", "fault"),
    # x86 "Oops: ...", and s390's die() line for every kind ("monitor event: 0040 ilc:2 [#1]" is
    # a BUG(), "Oops: 0004 ilc:3 [#1]" a bad access).
    Kind("oops", re.compile(r"\bOops(: |\b.*\[#\d+\])|\b[0-9a-f]{4} ilc:\d \[#\d+\]|"
                            r"Kernel panic - not syncing"),
         "Oops|[0-9a-f]{4} ilc:[0-9] [[]#[0-9]+[]]|Kernel panic - not syncing", "fault"),
]


@dataclass(frozen=True)
class Refined:
    """A known report that is not the project's, recognised by the lines after the header of a
    report of kind `parent`. It counts only under its own name, so a boot can expect it without
    accepting any other report of the parent kind; `known` is its name in zr.known_reports=."""
    parent: str
    name: str
    known: str
    host: re.Pattern[str]
    guest: str


REFINED = [
    # Stock pciehp_unconfigure_device() takes pci_rescan_remove_lock with ctrl->reset_lock (read)
    # held, drops reset_lock and takes it again inside (drivers/pci/hotplug/pciehp_pci.c):
    # lockdep's reset_lock <-> rescan/remove lock cycle on the first PCIe hot-unplug of a bound
    # device. The livepatch takes the two in one order (rust/pciehp.rs): a stock-only report,
    # matched on the stock function (not zr_pciehp_unconfigure_device). Once the livepatch is
    # disabled, lockdep, which learnt the patched order, reports the other side: the rescan/remove
    # lock taken in stock pciehp_unconfigure_device() with reset_lock held.
    Refined("lockdep-circular", "lockdep-pciehp-reset", "pciehp-reset",
            re.compile(r"\((&ctrl->reset_lock|pci_rescan_remove_lock)\)[^\n]*"
                       r"at: pciehp_unconfigure_device"),
            "[(](&ctrl->reset_lock|pci_rescan_remove_lock)[)].*at: pciehp_unconfigure_device"),
]
# How many lines after a report's header a refinement looks at.
REFINE_WINDOW = 8

GROUPS = ("lockdep", "hung", "fault")


def kind_names() -> list[str]:
    """Every kind a boot can expect or allow: the table's and the refined ones."""
    return [k.name for k in REPORTS] + [r.name for r in REFINED]


def classify(line: str, window: str = "") -> str | None:
    """The kind of the report whose header is `line` (refined by the next lines, `window`), or
    None."""
    for k in REPORTS:
        if k.host.search(line):
            return next((r.name for r in REFINED
                         if r.parent == k.name and r.host.search(window)), k.name)
    return None


def _sh_quote(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"


def guest_shell() -> str:
    """/selftests/reports.sh: the guest's copy of the table, as shell variables."""
    out = ["# Generated from qemu/zr/reports.py by scripts/mkinitramfs.sh: do not edit.",
           "# shellcheck shell=dash disable=SC2034",
           "ZR_REPORT_RE=" + _sh_quote("|".join(k.guest for k in REPORTS))]
    for g in GROUPS:
        out.append(f"ZR_REPORT_{g.upper()}_RE="
                   + _sh_quote("|".join(k.guest for k in REPORTS if k.group == g)))
    # One line per refinement: known-name, then its ERE over the report's next lines.
    out.append("ZR_REFINED=" + _sh_quote("\n".join(f"{r.known}\t{r.guest}" for r in REFINED)))
    out.append(f"ZR_REFINE_WINDOW={REFINE_WINDOW}")
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    if argv[1:] == ["--guest-shell"]:
        sys.stdout.write(guest_shell())
        return 0
    sys.stderr.write("usage: reports.py --guest-shell\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
