#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""machine.py FILE KEY: print one [machine] value of a machine definition (lists space-separated),
for the shell scripts; the definition is read and checked by zr.machine.load_machine, as the
harness reads it. Exit status 2 if the file is missing or invalid or has no such key."""

import sys

from zr.machine import UsageError, load_machine


def main():
    if len(sys.argv) != 3:
        print("usage: machine.py FILE KEY", file=sys.stderr)
        return 2
    try:
        m = load_machine(sys.argv[1])
    except UsageError as e:
        print(f"machine.py: {e}", file=sys.stderr)
        return 2
    val = m["machine"].get(sys.argv[2])
    if val is None:
        print(f"machine.py: {sys.argv[1]}: [machine] has no '{sys.argv[2]}'", file=sys.stderr)
        return 2
    print(" ".join(map(str, val)) if isinstance(val, list) else val)
    return 0


if __name__ == "__main__":
    sys.exit(main())
