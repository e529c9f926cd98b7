#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""gen-expected.py [--srctree DIR --sources LIST] SYSTEM.MAP FUNCS [SKEW]: print zr_expected.h,
the size kallsyms reports for every function the livepatch replaces, as

    #define ZR_OLD_SIZE_<old> 0x<size>

FUNCS names them, one a line: rust/zr_funcs.h run through the kernel's preprocessor with the
tree's configuration and ZR_FUNC(old, new) defined as `old` (rust/Kbuild), so the conditionals
around architecture- and configuration-specific replacements are the compiler's own.

kallsyms_lookup_size_offset() counts up to the next symbol with a higher address, alignment
padding included; System.map lists exactly the kallsyms symbols in address order, so the size is
computed the same way here. Exit status 1, naming it, on a function missing or not unique.
SKEW (tests only) names a function whose recorded size is made 2 bytes larger, so the module
must refuse to patch.

With --srctree DIR --sources LIST it first checks that every replaced function, and every caller
or copied function LIST names for one, has in the kernel source DIR the source its replacement
was written against: LIST (rust/zr_sources.list) records, per function, its file and a
fingerprint of its definition (comments and whitespace aside). A livepatch built for a tree
that changed one of them (a stable update, a backport, a tree with the upstream series applied)
would silently revert that change; the mismatch is an error naming the function. --record DIR
LIST prints LIST with the fingerprints of DIR (after porting a replacement to a new source)."""

import hashlib
import os
import re
import sys


def replaced_functions(text):
    """The names in FUNCS text (preprocessor output: one C identifier a line, blank lines
    aside), in order; ValueError naming a line that is anything else, or a repeated name."""
    want = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if not re.fullmatch(r"[A-Za-z_]\w*", line):
            raise ValueError(f"line {n}: not a function name: {line!r}")
        if line in want:
            raise ValueError(f"line {n}: {line} listed twice")
        want.append(line)
    return want


def definition(text, name):
    """The definition of C function `name` in `text` (kernel style: the declarator starts in
    column 0, the body ends at the first "}" in column 0), or ValueError if it is not there
    exactly once."""
    lines = text.splitlines()
    start = re.compile(r"^[A-Za-z_].*[\s*]" + re.escape(name) + r"\(")
    found = []
    for i, line in enumerate(lines):
        if not start.match(line):
            continue
        # A prototype ends with ";" before any "{".
        j = i
        while j < len(lines) and "{" not in lines[j] and not lines[j].rstrip().endswith(";"):
            j += 1
        if j == len(lines) or lines[j].rstrip().endswith(";"):
            continue
        k = next((k for k in range(j, len(lines)) if lines[k].startswith("}")), None)
        if k is None:
            raise ValueError(f"{name}: no end of its body")
        found.append("\n".join(lines[i:k + 1]))
    if len(found) != 1:
        raise ValueError(f"{name}: {'no definition' if not found else 'defined more than once'}")
    return found[0]


def fingerprint(src):
    """A hash of C source `src` without its comments and whitespace layout."""
    src = re.sub(r"/\*.*?\*/", " ", src, flags=re.S)
    src = re.sub(r"//[^\n]*", " ", src)
    # One space between two words (identifiers, numbers, keywords), none elsewhere.
    src = re.sub(r"(?<!\w) | (?!\w)", "", " ".join(src.split()))
    return hashlib.sha256(src.encode()).hexdigest()[:16]


# The relations of a function recorded for replaced ones (the fourth word of a sources line):
# how the livepatch relies on its source, as the error message names it.
RELATIONS = {"caller-of": "caller of", "copied-by": "copied by the replacement of"}


def read_sources(path):
    """rust/zr_sources.list: (name, file, fingerprint, relation, replaced) per line, replaced
    the replaced functions a caller-of or copied-by line is recorded for, relation its key of
    RELATIONS (both empty for a replaced function)."""
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            rel, _, names = words[3].partition("=") if len(words) == 4 else ("", "", "")
            if len(words) not in (3, 4) or not re.fullmatch(r"[0-9a-f]{16}", words[2]) or (
                    len(words) == 4 and (rel not in RELATIONS or not names)):
                raise ValueError(f"{path}:{n}: want NAME FILE FINGERPRINT "
                                 "[caller-of=F,...|copied-by=F,...]")
            out.append((words[0], words[1], words[2], rel, names.split(",") if names else []))
    return out


def check_sources(srctree, sources, want):
    """Error lines for the replaced functions `want` (and the functions recorded for them)
    whose source in `srctree` is not the recorded one; empty if all match."""
    errors = []
    recorded = {name for name, _, _, _, replaced in sources if not replaced}
    for fn in want:
        if fn not in recorded:
            errors.append(f"{fn}: no fingerprint recorded in the sources list; record it "
                          "(scripts/gen-expected.py --record) after checking the replacement")
    for name, path, fp, rel, replaced in sources:
        if replaced and not set(replaced) & set(want):
            continue
        if not replaced and name not in want:
            continue
        what = f"{name} ({path}" + (
            f", {RELATIONS[rel]} {', '.join(replaced)})" if replaced else ")")
        try:
            with open(os.path.join(srctree, path), encoding="utf-8", errors="replace") as f:
                got = fingerprint(definition(f.read(), name))
        except (OSError, ValueError) as e:
            errors.append(f"{what}: cannot read its source: {e}")
            continue
        if got != fp:
            errors.append(f"{what} differs from the source this livepatch was written against "
                          f"(fingerprint {got}, recorded {fp}): its replacement would revert the "
                          "change. Port the replacement to this source, then record it with "
                          "scripts/gen-expected.py --record")
    return errors


def record(srctree, path):
    """rust/zr_sources.list with the fingerprints of `srctree`."""
    out = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for line in lines:
        words = line.split("#", 1)[0].split()
        if len(words) >= 3:
            with open(os.path.join(srctree, words[1]), encoding="utf-8", errors="replace") as f:
                words[2] = fingerprint(definition(f.read(), words[0]))
            line = " ".join(words)
        out.append(line)
    return "\n".join(out) + "\n"


def main():
    args = sys.argv[1:]
    if args[:1] == ["--record"]:
        if len(args) != 3:
            print("usage: gen-expected.py --record SRCTREE LIST", file=sys.stderr)
            return 2
        try:
            sys.stdout.write(record(args[1], args[2]))
        except (OSError, ValueError) as e:
            print(f"gen-expected: {e}", file=sys.stderr)
            return 1
        return 0
    srctree = sources = None
    while args[:1] in (["--srctree"], ["--sources"]) and len(args) >= 2:
        if args[0] == "--srctree":
            srctree = args[1]
        else:
            sources = args[1]
        args = args[2:]
    if len(args) not in (2, 3) or (srctree is None) != (sources is None):
        print("usage: gen-expected.py [--srctree DIR --sources LIST] SYSTEM.MAP FUNCS [SKEW]",
              file=sys.stderr)
        return 2
    smap, funcs = args[:2]
    skew = args[2] if len(args) == 3 else None
    with open(funcs, encoding="utf-8") as f:
        try:
            want = replaced_functions(f.read())
        except ValueError as e:
            print(f"gen-expected: {funcs}: {e}", file=sys.stderr)
            return 1
    if not want:
        print(f"gen-expected: no replaced function in {funcs}", file=sys.stderr)
        return 1
    if sources is not None:
        try:
            errors = check_sources(srctree, read_sources(sources), want)
        except (OSError, ValueError) as e:
            errors = [str(e)]
        for err in errors:
            print(f"gen-expected: {srctree}: {err}", file=sys.stderr)
        if errors:
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
