#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""gen-expected.py [--config AUTO.CONF] SYSTEM.MAP GLUE.c [SKEW]: print zr_expected.h, the size
kallsyms reports for every function the livepatch replaces (the ZR_FUNC(old, new) lines of
GLUE.c), as

    #define ZR_OLD_SIZE_<old> 0x<size>

kallsyms_lookup_size_offset() counts up to the next symbol with a higher address, alignment
padding included; System.map lists exactly the kallsyms symbols in address order, so the size is
computed the same way here. Exit status 1, naming it, on a function missing or not unique.
SKEW (tests only) names a function whose recorded size is made 2 bytes larger, so the module
must refuse to patch.

Architecture-specific replacements sit in "#ifdef CONFIG_X" / "#if IS_ENABLED(CONFIG_X)" blocks
(with "#else", "#endif", and "!" for the negation); with --config the kernel's auto.conf decides
them, as the C compiler will. Any other conditional around a ZR_FUNC() line is an error."""

import re
import sys

COND = re.compile(r"^#\s*(?:ifdef\s+(CONFIG_\w+)|if\s+(!?)\s*IS_ENABLED\((CONFIG_\w+)\)|ifndef\s+(CONFIG_\w+))\s*$")


def read_config(path):
    """The symbols set to y or m in an auto.conf."""
    on = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^(CONFIG_\w+)=[ym]$", line.strip())
            if m:
                on.add(m.group(1))
    return on


def replaced_functions(text, config):
    """The old names of the ZR_FUNC() lines that the preprocessor keeps under CONFIG."""
    stack = []  # per open conditional: True/False, or None if not understood
    want = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line.startswith("#"):
            d = re.sub(r"^#\s*", "", line)
            m = COND.match(line)
            if m:
                ifdef, neg, isen, ifndef = m.groups()
                sym = ifdef or isen or ifndef
                val = None if config is None else sym in config
                if val is not None and (neg or ifndef):
                    val = not val
                stack.append(val)
            elif d.startswith("if"):
                stack.append(None)
            elif d.startswith("else"):
                if not stack:
                    raise ValueError(f"line {n}: #else without #if")
                stack[-1] = None if stack[-1] is None else not stack[-1]
            elif d.startswith("endif"):
                if not stack:
                    raise ValueError(f"line {n}: #endif without #if")
                stack.pop()
            continue
        m = re.match(r"^ZR_FUNC\((\w+),", line)
        if not m:
            continue
        if None in stack:
            why = "needs --config" if config is None else "is not a CONFIG_ test"
            raise ValueError(f"line {n}: ZR_FUNC({m.group(1)}) under a conditional that {why}")
        if all(stack):
            want.append(m.group(1))
    if stack:
        raise ValueError("unterminated #if")
    return want


def main():
    args = sys.argv[1:]
    config = None
    if args[:1] == ["--config"] and len(args) >= 2:
        config = read_config(args[1])
        args = args[2:]
    if len(args) not in (2, 3):
        print("usage: gen-expected.py [--config AUTO.CONF] SYSTEM.MAP GLUE.c [SKEW]", file=sys.stderr)
        return 2
    smap, glue = args[:2]
    skew = args[2] if len(args) == 3 else None
    with open(glue, encoding="utf-8") as f:
        try:
            want = replaced_functions(f.read(), config)
        except ValueError as e:
            print(f"gen-expected: {glue}: {e}", file=sys.stderr)
            return 1
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
