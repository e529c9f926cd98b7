#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""gen-expected.py SYSTEM.MAP GLUE.c [SKEW]: print zr_expected.h, the size kallsyms reports for every
function the livepatch replaces (the ZR_FUNC(old, new) lines of GLUE.c), as

    #define ZR_OLD_SIZE_<old> 0x<size>

kallsyms_lookup_size_offset() counts up to the next symbol with a higher address, alignment
padding included; System.map lists exactly the kallsyms symbols in address order, so the size is
computed the same way here. Exit status 1, naming it, on a function missing or not unique.
SKEW (tests only) names a function whose recorded size is made 2 bytes larger, so the module
must refuse to patch."""

import re
import sys


def main():
    if len(sys.argv) not in (3, 4):
        print("usage: gen-expected.py SYSTEM.MAP GLUE.c [SKEW]", file=sys.stderr)
        return 2
    smap, glue = sys.argv[1:3]
    skew = sys.argv[3] if len(sys.argv) == 4 else None
    with open(glue, encoding="utf-8") as f:
        want = re.findall(r"^\s*ZR_FUNC\((\w+),", f.read(), re.M)
    if not want:
        print(f"gen-expected: no ZR_FUNC() lines in {glue}", file=sys.stderr)
        return 1
    if skew is not None and skew not in want:
        print(f"gen-expected: {skew} is not a replaced function", file=sys.stderr)
        return 1
    entries = []
    with open(smap, encoding="utf-8") as f:
        for line in f:
            addr, typ, name = line.split()[:3]
            entries.append((int(addr, 16), typ, name))
    bad = 0
    for fn in want:
        hits = [i for i, (_, t, n) in enumerate(entries) if n == fn and t in "tTwW"]
        if len(hits) != 1:
            why = "is not a function of vmlinux" if not hits else "is not unique in vmlinux"
            print(f"gen-expected: {fn} {why}", file=sys.stderr)
            bad = 1
            continue
        start = entries[hits[0]][0]
        end = next((a for a, _, _ in entries[hits[0] + 1:] if a > start), None)
        if end is None:
            print(f"gen-expected: {fn} is the last symbol; no size", file=sys.stderr)
            bad = 1
            continue
        size = end - start + (2 if fn == skew else 0)
        print(f"#define ZR_OLD_SIZE_{fn} 0x{size:x}")
    return bad


if __name__ == "__main__":
    sys.exit(main())
