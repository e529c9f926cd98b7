# SPDX-License-Identifier: GPL-2.0
"""python3 -m zr (with qemu/ on PYTHONPATH; scripts/zr): the harness's command line."""

import sys

from .main import main

sys.exit(main())
