"""A real model for scheduler tests: numpy arithmetic behind a gate the test opens.

OUTPUT0 = INPUT0 * 2 + 1, row by row, so every caller can check it got exactly its own rows.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping

import numpy as np

from backends.base import LoadedModel, ModelMetadata, TensorSpec
from repository_server.repository.config import DynamicBatching
from repository_server.scheduling import Scheduler, VersionStatistics
from tests.waiting import wait_until


class GatedModel(LoadedModel):
    def __init__(self, *, open_gate: bool = True, width: int = 4) -> None:
        self.metadata = ModelMetadata(
            "test",
            (TensorSpec("INPUT0", "FP32", (-1, width)),),
            (TensorSpec("OUTPUT0", "FP32", (-1, width)),),
        )
        self.gate = threading.Event()
        if open_gate:
            self.gate.set()
        self._lock = threading.Lock()
        self.entered = 0  # calls that reached the model
        self.finished = 0
        self.batch_rows: list[int] = []  # rows of each call, in call order
        self.error: Exception | None = None  # raised by every call when set
        self.output: Callable[[np.ndarray], np.ndarray] = lambda x: x * 2 + 1

    def infer(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        data = inputs["INPUT0"]
        with self._lock:
            self.entered += 1
            self.batch_rows.append(data.shape[0] if data.ndim else 0)
        # Bounded, so a failing test cannot hang the run.
        if not self.gate.wait(timeout=30):
            raise RuntimeError("test gate never opened")
        with self._lock:
            self.finished += 1
        if self.error is not None:
            raise self.error
        return {"OUTPUT0": self.output(data)}

    def close(self) -> None:
        self.gate.set()


def rows(first: float, count: int, width: int = 4) -> np.ndarray:
    """`count` distinct rows starting at `first`: [[first, first, ...], [first + 1, ...], ...]."""
    column = np.arange(first, first + count, dtype=np.float32)[:, None]
    return np.repeat(column, width, axis=1)


async def until(condition: Callable[[], object], message: str = "", timeout: float = 10.0) -> None:
    """Waits on a condition from async code without blocking the event loop."""
    await asyncio.to_thread(wait_until, condition, timeout, 0.005, message)


def scheduler_for(
    model: LoadedModel,
    *,
    workers: int = 1,
    queue_size: int = 16,
    max_batch_size: int = 0,
    batching: DynamicBatching | None = None,
) -> Scheduler:
    return Scheduler(
        model,
        "gated",
        1,
        workers=workers,
        queue_size=queue_size,
        max_batch_size=max_batch_size,
        batching=batching,
        statistics=VersionStatistics(),
    )
