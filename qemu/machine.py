#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""machine.py FILE KEY: print one [machine] value of a machine definition (lists space-separated),
for the shell scripts. Exit status 2 if the file or the key is missing."""

import sys
import tomllib


def main():
    if len(sys.argv) != 3:
        print("usage: machine.py FILE KEY", file=sys.stderr)
        return 2
    try:
        with open(sys.argv[1], "rb") as f:
            m = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as e:
        print(f"machine.py: {sys.argv[1]}: {e}", file=sys.stderr)
        return 2
    val = m.get("machine", {}).get(sys.argv[2])
    if val is None:
        print(f"machine.py: {sys.argv[1]}: [machine] has no '{sys.argv[2]}'", file=sys.stderr)
        return 2
    print(" ".join(map(str, val)) if isinstance(val, list) else val)
    return 0


if __name__ == "__main__":
    sys.exit(main())
