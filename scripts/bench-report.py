#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""bench-report.py OUT RUNDIR...: build/bench-lock.txt from the bench boots of `make bench`.

Each RUNDIR is one boot (build/runs/bench-ARCH-K); its data records (qemu/zr/records.py) carry
the benchmark's figures, one bench record {phase, pair, ps_per_pair, n} per timed kind of pair
(scripts/selftests/zr_bench.sh). The bench machines run
under QEMU's -icount shift=0,sleep=off, where a guest nanosecond is one guest instruction, so
PS_PER_PAIR / 1000 is instructions per pair. Per architecture (one [ARCH] section of key=value
lines): the figures of its first boot, the ratios the targets are about, and the largest
difference between its boots (the determinism check). Exit status 1 if a boot's figures are
incomplete or inconsistent, 2 on a usage error."""

import os
import re
import sys

# The harness's package, qemu/zr, holds the data channel's table.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "qemu"))
from zr.records import RecordError, read_records  # noqa: E402

NEED = [("stock", "outer"), ("stock", "redirect"), ("stock", "c_outer"), ("stock", "c_nested"),
        ("patched", "outer"), ("patched", "redirect"), ("patched", "nested"),
        ("patched", "direct"), ("patched", "direct_nested")]
TARGETS = {"outermost_vs_c_target": 1.0, "nested_direct_target": 0.5}
RUN = re.compile(r"^bench-(?P<arch>[a-z0-9_]+)-(?P<k>\d+)$")


def parse(records):
    """{(phase, pair): ps_per_pair} and the set of N of one boot's bench records."""
    ps, ns = {}, set()
    for r in records:
        ps[(r["phase"], r["pair"])] = int(r["ps_per_pair"])
        ns.add(int(r["n"]))
    return ps, ns


def figures(ps):
    """The per-arch figures and ratios from one boot's measurements (instructions per pair)."""
    instr = {k: v / 1000 for k, v in ps.items()}
    stock, c_outer = instr[("stock", "outer")], instr[("stock", "c_outer")]
    direct, nested = instr[("patched", "direct")], instr[("patched", "direct_nested")]
    redirect, patched = instr[("patched", "redirect")], instr[("patched", "outer")]
    out = {
        "stock_outer_instr_per_pair": stock,
        "patched_outer_instr_per_pair": patched,
        "patched_nested_instr_per_pair": instr[("patched", "nested")],
        "direct_outer_instr_per_pair": direct,
        "direct_nested_instr_per_pair": nested,
        "c_outer_instr_per_pair": c_outer,
        "c_nested_instr_per_pair": instr[("stock", "c_nested")],
        "redirect_instr_per_pair": redirect,
        "redirect_stock_phase_instr_per_pair": instr[("stock", "redirect")],
        "outermost_direct_ratio": direct / stock,
        "nested_direct_ratio": nested / stock,
        "outermost_vs_c_ratio": direct / c_outer,
        "nested_vs_c_ratio": nested / instr[("stock", "c_nested")],
        "outermost_net_ratio": (patched - redirect) / stock,
        "redirect_fraction_of_patched_outer": redirect / patched,
    }
    return out


def report(runs):
    """runs: {arch: [(name, ps, ns)]} -> (text, errors)."""
    lines, errors = [], []
    for arch in sorted(runs):
        boots = sorted(runs[arch])
        figs = []
        for name, ps, ns in boots:
            missing = [f"{p} {k}" for p, k in NEED if (p, k) not in ps]
            if missing or len(ns) != 1:
                errors.append(f"{name}: missing measurements: "
                              f"{', '.join(missing) or 'inconsistent N'}")
                continue
            figs.append((name, ns.pop(), figures(ps)))
        if not figs:
            continue
        name, n, fig = figs[0]
        lines += [f"[{arch}]", "accel=tcg-icount", "unit=guest instructions per lock/unlock pair",
                  f"N={n}", f"boots={len(figs)}"]
        lines += [f"{k}={v:.3f}" for k, v in fig.items()]
        lines += [f"{k}={v}" for k, v in TARGETS.items()]
        lines.append(f"outermost_vs_c_met={'yes' if fig['outermost_vs_c_ratio'] <= 1.0 else 'no'}")
        lines.append(f"nested_direct_met={'yes' if fig['nested_direct_ratio'] <= 0.5 else 'no'}")
        if len(figs) > 1:
            # The measurements themselves (a ratio of differences amplifies a unit's change).
            worst = max(abs(f[k] - fig[k]) / fig[k] for _, _, f in figs[1:] for k in fig
                        if fig[k] and k.endswith("_per_pair"))
            lines.append(f"max_difference_between_boots={worst * 100:.3f}%")
            lines.append(f"deterministic={'yes' if worst < 0.005 else 'no'}")
        else:
            lines.append("deterministic=unchecked (one boot)")
    return "\n".join(lines) + "\n", errors


def main(argv):
    if len(argv) < 3:
        print("usage: bench-report.py OUT RUNDIR...", file=sys.stderr)
        return 2
    runs = {}
    for d in argv[2:]:
        m = RUN.match(os.path.basename(os.path.normpath(d)))
        if not m:
            print(f"bench-report: {d}: not a bench run directory (bench-ARCH-K)", file=sys.stderr)
            return 2
        try:
            ps, ns = parse(read_records(d, "bench"))
        except (OSError, RecordError, ValueError) as e:
            print(f"bench-report: {e}", file=sys.stderr)
            return 1
        runs.setdefault(m.group("arch"), []).append((os.path.basename(d), ps, ns))
    text, errors = report(runs)
    for err in errors:
        print(f"bench-report: {err}", file=sys.stderr)
    if errors:
        return 1
    with open(argv[1], "w", encoding="utf-8") as f:
        f.write(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
