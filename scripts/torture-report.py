#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""torture-report.py OUT.md RUNDIR BOOT...: the torture figures of the given boots (the torture
records zr_torture.sh sends, RUNDIR/BOOT's data records: qemu/zr/records.py) as a
Markdown report: one row a run, the operations per kind, and per architecture the patched/stock
ratio of operations per second over the safe mix (the operations the stock kernel survives).
Exits 1 with a message if no boot has torture figures."""

import os
import sys

# The harness's package, qemu/zr, holds the data channel's table.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "qemu"))
from zr.records import TORTURE, RecordError, read_records  # noqa: E402

# The table's columns: the record's fields but the host worker's counts (the last column).
FIELDS = [f for f in TORTURE if f != "host"]


def parse_record(record):
    """One torture record as a row: its fields as text, the OP.RESULT counts under per_op."""
    row, ops = {}, {}
    for key, value in record.items():
        if key in ("test", "kind"):
            continue
        if "." in key:
            op, result = key.split(".", 1)
            ops.setdefault(op, {})[result] = int(value)
        else:
            row[key] = str(value)
    row["per_op"] = ops
    return row


def ratios(rows):
    """Per architecture: patched ops/s over stock ops/s of the safe mix (means over runs)."""
    out = {}
    for arch in sorted({r["arch"] for r in rows}):
        rate = {}
        for kernel in ("stock", "patched"):
            vals = [float(r["ops_per_s"]) for r in rows
                    if r["arch"] == arch and r["kernel"] == kernel and r["mix"] == "safe"]
            rate[kernel] = sum(vals) / len(vals) if vals else None
        if rate["stock"] and rate["patched"] is not None:
            out[arch] = (rate["stock"], rate["patched"], rate["patched"] / rate["stock"])
    return out


def render(rows):
    lines = ["# Torture figures", "",
             "Written by scripts/torture-report.py from the boots' torture records "
             "(scripts/selftests/zr_torture.sh); see Documentation/torture.rst.", "",
             "| boot | arch | kernel | mix | seed | workers | s | ops | ok | failed | ops/s "
             "| lockdep | hung | WARN/BUG | lost | stuck | host (QMP) |",
             "|" + "---|" * 17]
    for r in rows:
        cells = [r["boot"], *(r.get(k, "?") for k in FIELDS if k != "budget"),
                 r.get("host", "none")]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "## Operations per kind (ok / failed / not applicable)", ""]
    for r in rows:
        per = ", ".join(f"{op} {c.get('ok', 0)}/{c.get('failed', 0)}/{c.get('na', 0)}"
                        for op, c in r["per_op"].items())
        lines.append(f"- {r['boot']} ({r['kernel']}, {r['mix']}): {per}")
    lines += ["", "## Patched vs stock, safe mix", ""]
    rat = ratios(rows)
    if not rat:
        lines.append("No architecture has both a stock and a patched safe-mix run.")
    for arch, (s, p, q) in rat.items():
        lines.append(f"- {arch}: stock {s:.2f} ops/s, patched {p:.2f} ops/s, "
                     f"ratio patched/stock {q:.2f} (goal >= 0.95)")
    lines.append("")
    return "\n".join(lines)


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    out, rundir, boots = argv[1], argv[2], argv[3:]
    rows = []
    for boot in boots:
        try:
            recs = read_records(os.path.join(rundir, boot), "torture")
        except (OSError, RecordError) as e:
            print(f"torture-report: {e}", file=sys.stderr)
            return 1
        for rec in recs:
            row = parse_record(rec)
            row["boot"] = boot
            rows.append(row)
    if not rows:
        print("torture-report: no torture figures in the boots given", file=sys.stderr)
        return 1
    with open(out, "w", encoding="utf-8") as f:
        f.write(render(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
