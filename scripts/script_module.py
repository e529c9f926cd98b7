# SPDX-License-Identifier: GPL-2.0
"""The scripts of this directory are named like the kernel's (lockdep-graph.py): their unit tests
import them with load_script(). Importing this also makes the harness's package (qemu/zr) one
to import, as the scripts themselves do."""

import importlib.util
import os
import sys
from types import ModuleType

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "qemu"))


def load_script(filename: str) -> ModuleType:
    """The script FILENAME (next to this file) as a module named after it, dashes as
    underscores."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), filename)
    spec = importlib.util.spec_from_file_location(filename[:-3].replace("-", "_"), path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
