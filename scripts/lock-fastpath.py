#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""lock-fastpath.py OBJDUMP VMLINUX MODULE.ko: the reentrant lock's physical floor, read from the
machine code.

Follows every call and branch out of the two replacements (zr_pci_lock_rescan_remove,
zr_pci_unlock_rescan_remove) through the module and, for what they call in vmlinux, through
vmlinux too, and counts the interlocked (atomic read-modify-write) instructions on the way,
except inside the stock mutex_lock()/mutex_unlock() themselves: those are the stock pair's own,
paid once by the outermost acquisition and release. With none elsewhere, the nested path
executes no interlocked instruction and the outermost path exactly the stock pair's. Prints what
it followed; exit status 1 if it found one (naming it), 2 on a usage or objdump error."""

import re
import subprocess
import sys

ROOTS = ("zr_pci_lock_rescan_remove", "zr_pci_unlock_rescan_remove")
STOCK = {"mutex_lock", "mutex_unlock", "mutex_lock_nested"}
# Interlocked instructions: x86 LOCK-prefixed and XCHG with memory (implicitly locked); s390
# COMPARE AND SWAP family, the interlocked-access facility's LOAD AND ADD/AND/OR/XOR, and ADD
# (LOGICAL WITH SIGNED) IMMEDIATE to storage, interlocked updates with that facility.
INTERLOCKED = {
    "x86_64": re.compile(r"^(lock\b|xchg\S*\s+.*\(|cmpxchg)"),
    "s390x": re.compile(r"^(cs|csy|csg|cds|cdsy|cdsg|csst|laa|laag|laal|laalg|lan|lang|lao|laog|"
                        r"lax|laxg|lpd|lpdg|asi|agsi|alsi|algsi)\b"),
}
FUNC = re.compile(r"^[0-9a-f]+ <([^>]+)>:$")
INSN = re.compile(r"^\s*([0-9a-f]+):\s+(.*)$")
RELOC = re.compile(r"^\s+[0-9a-f]+: (R_\S+)\s+([A-Za-z0-9_.$]+)([+-]0x[0-9a-f]+)?")
SECTION = re.compile(r"^Disassembly of section (\S+):$")
# A branch's PC-relative relocation against a section (a call of a local function) points
# this far before its target: x86's 4-byte field ends the instruction; s390's halfword-scaled
# displacement starts 2 bytes into it.
PCREL_BIAS = {"R_X86_64_PLT32": 4, "R_X86_64_PC32": 4, "R_390_PLT32DBL": -2, "R_390_PC32DBL": -2}
TARGET = re.compile(r"<([A-Za-z0-9_.$]+?)(?:\+0x[0-9a-f]+)?>")


def disassemble(objdump, path, symbol=None):
    """{function: ([instruction texts], {referenced symbols})} of `path` (one symbol of it).
    A reference through a section-relative relocation (a local function) is resolved to the
    function at the target address."""
    argv = [objdump, "-dr", "--no-show-raw-insn", path]
    if symbol:
        argv.insert(2, f"--disassemble={symbol}")
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    funcs, cur, section = {}, None, ""
    starts = {}                 # (section, address) -> function
    local = []                  # (function refs, section, target address)
    for line in out.splitlines():
        m = SECTION.match(line)
        if m:
            section = m.group(1)
            continue
        m = FUNC.match(line)
        if m:
            cur = funcs.setdefault(m.group(1), ([], set()))
            starts[(section, int(line.split()[0], 16))] = m.group(1)
            continue
        if cur is None:
            continue
        m = RELOC.match(line)
        if m:
            kind, name, addend = m.groups()
            if name.startswith(".") and kind in PCREL_BIAS and addend:
                local.append((cur[1], name, int(addend, 16) + PCREL_BIAS[kind]))
            else:
                cur[1].add(name)
            continue
        m = INSN.match(line)
        if m:
            text = m.group(2).strip()
            cur[0].append(text)
            for t in TARGET.findall(text):
                cur[1].add(t)
    for refs, sec, addr in local:
        if (sec, addr) in starts:
            refs.add(starts[(sec, addr)])
    return funcs


def check(objdump, vmlinux, module, arch):
    """(report lines, interlocked findings)."""
    mod = disassemble(objdump, module)
    missing = [r for r in ROOTS if r not in mod]
    if missing:
        raise ValueError(f"{module}: no {', '.join(missing)}")
    seen, todo, found, followed_vmlinux, stock_calls = set(), list(ROOTS), [], [], set()
    vml = {}
    while todo:
        fn = todo.pop()
        if fn in seen:
            continue
        seen.add(fn)
        if fn in STOCK:
            stock_calls.add(fn)
            continue
        if fn in mod:
            insns, refs = mod[fn]
        else:
            if fn not in vml:
                vml.update(disassemble(objdump, vmlinux, fn))
            if fn not in vml:
                continue   # data, or a symbol objdump cannot find: not code we run
            insns, refs = vml[fn]
            followed_vmlinux.append(fn)
        found += [f"{fn}: {i}" for i in insns if INTERLOCKED[arch].match(i)]
        todo += [r for r in refs if r not in seen and r != fn]
    lines = [f"lock fast paths ({arch}): {len(seen - STOCK - set(followed_vmlinux))} module "
             f"functions, vmlinux: {', '.join(sorted(followed_vmlinux)) or 'none'}; stock calls: "
             f"{', '.join(sorted(stock_calls)) or 'none'}; interlocked instructions besides the "
             f"stock mutex: {len(found)}"]
    if not {"mutex_lock", "mutex_unlock"} <= stock_calls and not {
            "mutex_lock_nested", "mutex_unlock"} <= stock_calls:
        found.append("the replacements do not call the stock mutex_lock()/mutex_unlock()")
    return lines, found


def main(argv):
    if len(argv) != 5 or argv[4] not in INTERLOCKED:
        print("usage: lock-fastpath.py OBJDUMP VMLINUX MODULE.ko ARCH (x86_64, s390x)",
              file=sys.stderr)
        return 2
    try:
        lines, found = check(*argv[1:5])
    except (OSError, subprocess.CalledProcessError, ValueError) as e:
        print(f"lock-fastpath: {e}", file=sys.stderr)
        return 2
    print("\n".join(lines))
    for f in found:
        print(f"lock-fastpath: interlocked: {f}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
