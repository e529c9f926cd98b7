#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""scenarios.py [--print] SCENARIOS.LIST RUNS-DIR OUT.md [BOOT...]: the stock-vs-patched scenario
table of a test run; with --print also on stdout, as text, the rows whose boots ran (make run).

For each scenario whose boots ran, the result of its test in the stock and in the patched boot
(from RUNS-DIR/<boot>.ktap) and the kernel reports each boot's console showed
(RUNS-DIR/<boot>/summary.json). Only the BOOTs named (default: all found) count; scenarios whose
boots did not run are listed as "not run"."""

import json
import os
import re
import sys

RESULT = re.compile(r"^(ok|not ok) \d+ (\S+)(?: # (.*))?$")


def boot_results(runs, boot):
    """(suite -> result text, report kinds, killed) of one boot, or None if it did not run."""
    ktap = os.path.join(runs, f"{boot}.ktap")
    summ = os.path.join(runs, boot, "summary.json")
    if not os.path.exists(ktap) or not os.path.exists(summ):
        return None
    suites = {}
    with open(ktap, encoding="utf-8") as f:
        for line in f:
            m = RESULT.match(line.rstrip("\n"))
            if m:
                status, name, directive = m.groups()
                text = "pass" if status == "ok" else "FAIL"
                if directive:
                    text += f" ({directive.strip().lower()})"
                suites[name] = text
    with open(summ, encoding="utf-8") as f:
        s = json.load(f)
    return suites, sorted(set(s.get("reports_seen", []))), s.get("killed")


def cell(runs, spec, cache, ran):
    if spec == "-":
        return "n/a"
    boot, _, test = spec.partition(":")
    if ran and boot not in ran:
        return "not run"
    if boot not in cache:
        cache[boot] = boot_results(runs, boot)
    res = cache[boot]
    if res is None:
        return "not run"
    suites, reports, killed = res
    out = f"test {suites.get(test, 'missing')}"
    out += "; reports: " + (", ".join(reports) if reports else "none")
    if killed:
        out += "; guest ended at the deadline"
    return out


def print_rows(rows):
    """The rows whose stock or patched boot ran, as a plain-text table for a terminal."""
    shown = [r for r in rows if {r[3], r[4]} - {"not run", "n/a"}]
    for sid, arch, what, stock, patched in shown:
        print(f"{sid} ({arch}): {what}")
        print(f"    stock:   {stock}")
        print(f"    patched: {patched}")
    if not shown:
        print("(no scenario's boots ran)")


def main():
    args = sys.argv[1:]
    show = bool(args) and args[0] == "--print"
    if show:
        args = args[1:]
    if len(args) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    listfile, runs, out = args[:3]
    ran = set(args[3:])
    rows, cache = [], {}
    with open(listfile, encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            sid, arch, stock, patched, *desc = line.split()
            rows.append((sid, arch, " ".join(desc), cell(runs, stock, cache, ran),
                         cell(runs, patched, cache, ran)))
    with open(out, "w", encoding="utf-8") as f:
        f.write("# Scenarios: stock 7.3.4 vs the zpci_rrlock livepatch\n\n")
        f.write("Written by `make test` (scripts/scenarios.py) from this run's boots. On the stock\n"
                "kernel the expected report is required by the boot's expectations; on the patched\n"
                "kernel any report fails the boot.\n\n")
        f.write("| scenario | arch | what | stock | patched |\n|---|---|---|---|---|\n")
        for r in rows:
            f.write("| " + " | ".join(x.replace("|", "\\|") for x in r) + " |\n")
    if show:
        print_rows(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
