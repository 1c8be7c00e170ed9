"""Resident memory of a process and everything in its process group (TorchServe's Java frontend
and Python workers, MLServer's children), read from /proc."""

from __future__ import annotations

import os
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE")


def _group_of(stat: str) -> int:
    # Fields after the parenthesised command name: state, ppid, pgrp, ...
    return int(stat.rsplit(")", 1)[1].split()[2])


def group_rss_bytes(group: int) -> int:
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if _group_of((entry / "stat").read_text()) != group:
                continue
            total += int((entry / "statm").read_text().split()[1]) * PAGE
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue  # the process ended while we read it
    return total


def process_rss_bytes(pid: int) -> int:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
