# SPDX-License-Identifier: GPL-2.0
"""Where a run keeps what it leaves behind and what it caches (as scripts/lib.sh)."""

import os

from .suite import TOP

BUILD = os.environ.get("ZR_BUILD") or os.path.join(TOP, "build")
CACHE = os.environ.get("ZR_CACHE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "zpci-rrlock")
LOGS = os.path.join(BUILD, "logs")
RUNS = os.path.join(BUILD, "runs")
SCRIPTS = os.path.join(TOP, "scripts")
VENV_PYTHON = os.path.join(CACHE, "venv", "bin", "python3")
