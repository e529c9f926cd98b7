# SPDX-License-Identifier: GPL-2.0
"""The data channel: what a guest test measured or collected, as JSON lines on its own
virtio-serial port (zr.contract.PORT_DATA, the host's file RUNDIR/FILE), so that KTAP carries
only results. One record a line, {"test": NAME, "kind": KIND, FIELD: VALUE, ...}; zr_record
(scripts/selftests/data.sh) writes them, this table says what each kind holds, read_records()
refuses anything else by name."""

import json
import os
import re
from dataclasses import dataclass
from typing import Any

FILE = "data.jsonl"


Record = dict[str, Any]   # {"test": NAME, "kind": KIND, FIELD: VALUE, ...}


class RecordError(ValueError):
    """A data line that is not a record of the table."""


@dataclass(frozen=True)
class Kind:
    """One kind of record: its fields (all required), and a pattern of further field names it
    may carry (e.g. per-operation counts)."""
    name: str
    fields: tuple[str, ...]
    writer: str
    more: re.Pattern[str] | None = None


TORTURE = ("arch", "kernel", "mix", "seed", "workers", "budget", "seconds", "ops", "ok",
           "failed", "ops_per_s", "lockdep", "hung", "warnings", "lost", "stuck", "host")
KINDS = {k.name: k for k in (
    # One timed phase of the lock benchmark: picoseconds (under -icount shift=0: thousandths
    # of an instruction) per lock/unlock pair of one kind, over n pairs.
    Kind("bench", ("phase", "pair", "ps_per_pair", "n"), "zr_bench"),
    # One torture run's figures; OP.RESULT fields count the operations per kind and result.
    Kind("torture", TORTURE, "zr_torture", re.compile(r"^[a-z_]+\.(ok|failed|na)$")),
    # The guest's /proc/lockdep, whole (scripts/lockdep-graph.py draws the lock order from it).
    Kind("lockdep", ("proc_lockdep",), "zr_lockdep"),
    # The livepatch lifecycle's rounds and the lock's state at each disable.
    Kind("lifecycle", ("cycles", "disable_with_lock_held", "disable_with_lock_free"),
         "zr_lifecycle"),
)}


def check(rec: object, where: str) -> Record:
    """rec as a record of the table, or RecordError naming `where` and what is wrong."""
    if not isinstance(rec, dict):
        raise RecordError(f"{where}: not a JSON object")
    if not isinstance(rec.get("test"), str) or not rec["test"]:
        raise RecordError(f"{where}: no test name")
    kind = KINDS.get(rec.get("kind"))  # type: ignore[arg-type]
    if kind is None:
        raise RecordError(f"{where}: unknown kind {rec.get('kind')!r} "
                          f"(known: {', '.join(KINDS)})")
    missing = [f for f in kind.fields if f not in rec]
    if missing:
        raise RecordError(f"{where}: {kind.name} record without {', '.join(missing)}")
    extra = [f for f in rec if f not in ("test", "kind", *kind.fields)
             and not (kind.more and kind.more.match(f))]
    if extra:
        raise RecordError(f"{where}: {kind.name} record with unknown field(s) {', '.join(extra)}")
    return rec


def parse(text: str, source: str) -> list[Record]:
    """The records of a data file's text; RecordError at the first line that is not one."""
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except ValueError as e:
            raise RecordError(f"{source}:{n}: not JSON ({e})") from None
        out.append(check(rec, f"{source}:{n}"))
    return out


def read_records(rundir: str, kind: str | None = None) -> list[Record]:
    """The records one boot sent (of `kind` only, if given); none if it sent none."""
    path = os.path.join(rundir, FILE)
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except FileNotFoundError:
        return []
    return [r for r in parse(text, path) if kind is None or r["kind"] == kind]


def verdict(rundir: str) -> tuple[bool, str] | None:
    """The host's result on a boot's data records: all of the table (with how many there
    are), or the first that is not; None if the boot sent none."""
    try:
        recs = read_records(rundir)
    except RecordError as e:
        return False, f"guest data records: {e}"
    if not recs:
        return None
    kinds = sorted({r["kind"] for r in recs})
    return True, f"guest data records well-formed ({len(recs)}: {', '.join(kinds)})"
