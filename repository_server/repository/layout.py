"""Naming rules of the repository layout: `<repo>/<model>/[config.json] [labels] <version>/<files>`."""

from __future__ import annotations

import re
from pathlib import Path

_VERSION_NAME = re.compile(r"[1-9][0-9]*")
_MODEL_NAME = re.compile(r"[A-Za-z0-9_.-]+")


# Folders tools leave beside models (Python byte code of make_models.py, say): never models.
TOOL_FOLDERS = frozenset({"__pycache__"})


def is_hidden(name: str) -> bool:
    """Names starting with '.' are ignored everywhere: `cp -r m/.3.tmp; mv m/.3.tmp m/3` publishes
    a version atomically. Tool folders such as `__pycache__` are ignored too."""
    return name.startswith(".") or name in TOOL_FOLDERS


# Versions are int64 in Triton's protocol and OVMS; a bigger folder name is no version.
MAX_VERSION = 2**63 - 1


def version_number(name: str) -> int | None:
    """The version a folder name stands for: a positive integer without leading zeros up to
    MAX_VERSION, else None.

    `1` and `12` are versions; `0`, `01`, `v2`, `2_backup`, `3.old` and `99999999999999999999`
    are not.
    """
    if not _VERSION_NAME.fullmatch(name) or len(name) > 19:
        return None
    number = int(name)
    return number if number <= MAX_VERSION else None


def is_valid_model_name(name: str) -> bool:
    """Model names are `[A-Za-z0-9_.-]+`, not hidden, and never `.` or `..`."""
    return bool(_MODEL_NAME.fullmatch(name)) and not is_hidden(name)


def model_folder_names(root: Path) -> list[str]:
    """The model folders in the repository now (a listing, no scan of their contents); none when
    the repository cannot be listed (the scanner reports that)."""
    try:
        entries = list(root.iterdir())
    except OSError:
        return []
    return sorted(
        path.name
        for path in entries
        if not is_hidden(path.name) and is_valid_model_name(path.name) and path.is_dir()
    )
