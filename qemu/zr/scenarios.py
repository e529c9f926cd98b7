# SPDX-License-Identifier: GPL-2.0
"""The stock-vs-patched scenario table of a run (build/scenarios.md; on the terminal for make
run): for each scenario (qemu/suite/scenarios.toml) the result of its test in the stock and in
the patched boot (RUNS/BOOT.ktap), the kernel reports the console showed while that test ran
and those of the rest of the boot (RUNS/BOOT/summary.json). Scenarios whose boots did not run
are listed as "not run"."""

import json
import os
import re

from .suite import Scenario, Side

RESULT = re.compile(r"^(ok|not ok) \d+ (\S+)(?: # (.*))?$")
Row = tuple[str, str, str, str, str]


BootResults = tuple[dict[str, str], dict[str, list[str]], str | None]


def boot_results(runs: str, boot: str) -> BootResults | None:
    """(suite -> result text, test -> report kinds, killed) of one boot, or None if it did not
    run."""
    ktap = os.path.join(runs, f"{boot}.ktap")
    summ = os.path.join(runs, boot, "summary.json")
    try:
        with open(ktap, encoding="utf-8") as f:
            lines = f.read().splitlines()
        with open(summ, encoding="utf-8") as f:
            s = json.load(f)
    except (OSError, ValueError):
        return None
    suites: dict[str, str] = {}
    for line in lines:
        m = RESULT.match(line)
        if m:
            status, name, directive = m.groups()
            text = "pass" if status == "ok" else "FAIL"
            if directive:
                text += f" ({directive.strip().lower()})"
            suites[name] = text
    return suites, s.get("reports_by_test", {}), s.get("killed")


def cell(runs: str, side: Side | None, ran: set[str], cache: dict[str, BootResults | None]) -> str:
    if side is None:
        return "n/a"
    if side.boot not in ran:
        return "not run"
    if side.boot not in cache:
        cache[side.boot] = boot_results(runs, side.boot)
    res = cache[side.boot]
    if res is None:
        return "not run"
    suites, by_test, killed = res
    during = sorted(set(by_test.get(side.test, [])))
    rest = sorted({k for t, kinds in by_test.items() if t != side.test
                   for k in kinds} - set(during))
    out = f"test {suites.get(side.test, 'missing')}"
    out += "; reports: " + (", ".join(during) if during else "none")
    if rest:
        out += f" (rest of the boot: {', '.join(rest)})"
    if killed:
        out += "; guest ended at the deadline"
    return out


def verdicts(scenarios: list[Scenario], runs: str, ran: set[str]) -> list[tuple[str, str | None]]:
    """The host's judgement of each stock side that names what its test shows (shows = [...])
    and whose boot ran: (result name, None if the console showed every kind while the test ran,
    else why not)."""
    out: list[tuple[str, str | None]] = []
    cache: dict[str, BootResults | None] = {}
    for s in scenarios:
        side = s.stock
        if side is None or not side.shows or side.boot not in ran:
            continue
        if side.boot not in cache:
            cache[side.boot] = boot_results(runs, side.boot)
        res = cache[side.boot]
        name = f"scenario-{s.id}-{s.machine}"
        if res is None:
            out.append((name, f"boot {side.boot} left no results"))
            continue
        during = sorted(set(res[1].get(side.test, [])))
        if all(k in during for k in side.shows):
            out.append((name, None))
            continue
        out.append((name, f"{s.id} stock: the console showed {', '.join(during) or 'no report'}"
                          f" while {side.test} ran, want {', '.join(side.shows)} ({side.boot})"))
    return out


def rows(scenarios: list[Scenario], runs: str, ran: set[str]) -> list[Row]:
    cache: dict[str, BootResults | None] = {}
    return [(s.id, s.machine, s.title,
             cell(runs, s.stock, ran, cache) if s.stock else f"n/a: {s.no_stock}",
             cell(runs, s.patched, ran, cache)) for s in scenarios]


def write(scenarios: list[Scenario], runs: str, out: str, ran: set[str]) -> list[Row]:
    table = rows(scenarios, runs, ran)
    with open(out, "w", encoding="utf-8") as f:
        f.write("# Scenarios: stock 7.3.4 vs the zpci_rrlock livepatch\n\n")
        f.write("Written by `make test` (qemu/zr/scenarios.py) from this run's boots. On the "
                "stock\nkernel the expected report is required by the boot's expectations; on "
                "the patched\nkernel any report fails the boot.\n\n")
        f.write("| scenario | machine | what | stock | patched |\n|---|---|---|---|---|\n")
        for r in table:
            f.write("| " + " | ".join(x.replace("|", "\\|") for x in r) + " |\n")
    return table


def text(table: list[Row]) -> str:
    """The rows whose stock or patched boot ran, as plain text for a terminal."""
    shown = [r for r in table if r[3] != "not run" and not r[3].startswith("n/a")
             or r[4] != "not run"]
    out = []
    for sid, machine, what, stock, patched in shown:
        out += [f"{sid} ({machine}): {what}", f"    stock:   {stock}", f"    patched: {patched}"]
    return "\n".join(out) if out else "(no scenario's boots ran)"
