"""Keeping the garbage collector off the hot path.

Importing torch, ONNX Runtime and OpenVINO leaves some 180,000 long-lived objects, and a full
collection over them stalls every request for about 120 ms (the p99 at concurrency 32 went from
~110 ms to ~20 ms without them: benchmarks/gc_pause.py). So what exists once the server has
started, and what each model load creates, is frozen (moved out of the collector's sight);
unloading a model unfreezes everything for the one full collection that frees it, then freezes
again. Refcounting still frees frozen objects; only reference cycles wait for that collection.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable

_lock = threading.Lock()


def freeze_after_start() -> None:
    """Collects once, then freezes what survives: the imports and the models loaded at start."""
    with _lock:
        gc.collect()
        gc.freeze()


def freeze_after_load() -> None:
    """Freezes what a model load created (the runtime's Python objects live as long as it)."""
    with _lock:
        gc.freeze()


def close_with_full_collection(close: Callable[[], None]) -> None:
    """Runs a model's `close()` with every object back in the collector's sight, so the full
    collection it does (backends.memory.release_memory) frees the model's cycles too."""
    with _lock:
        gc.unfreeze()
        try:
            close()
        finally:
            gc.freeze()
