"""The server process's resident memory: every worker is a thread of this one process, so each
reports the process's RSS as its TorchServe `memoryUsage`."""

from __future__ import annotations

import os
import resource
from pathlib import Path

_STATM = Path("/proc/self/statm")
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def process_rss_bytes() -> int:
    """Current resident set size; the peak RSS where /proc is missing (macOS)."""
    try:
        return int(_STATM.read_bytes().split()[1]) * _PAGE_SIZE
    except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if os.uname().sysname == "Darwin" else peak * 1024
