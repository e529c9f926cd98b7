#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""boot.py: boot a zpci-rrlock test guest in QEMU and turn what it did into KTAP results (the
runner package qemu/zr/; see zr.cli for the options)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from zr.cli import main  # noqa: E402  (after the path set-up)

if __name__ == "__main__":
    sys.exit(main())
