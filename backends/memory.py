"""Giving a closed model's memory back to the operating system."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Callable
from functools import cache


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, or None on a C library without it (musl, macOS, Windows)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def release_memory() -> None:
    """Collects the runtime objects just dropped, then asks glibc to return its free pages.

    glibc keeps freed arenas mapped, so without the trim the process RSS stays at its high mark
    after a model of tens of MB is unloaded.
    """
    gc.collect()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
