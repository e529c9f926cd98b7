# SPDX-License-Identifier: GPL-2.0
"""Reading what a boot or a step left behind: a file that may be missing or cut short."""

import json
from typing import Any


def read_text(path: str) -> str:
    """The file's text ("" if it cannot be read; undecodable bytes replaced)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def load_json(path: str) -> dict[str, Any] | None:
    """The JSON object in the file, None if it is missing or not a JSON object."""
    try:
        with open(path, encoding="utf-8") as f:
            obj = json.load(f)
    except (OSError, ValueError):
        return None
    return obj if isinstance(obj, dict) else None
