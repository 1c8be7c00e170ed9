"""One inference request waiting in, or running from, a version's job queue."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from repository_server.errors import ServerError

# What decides whether two requests can share a batch: each input's name, dtype and non-batch dims.
BatchSignature = tuple[tuple[str, str, tuple[int, ...]], ...]


@dataclass(frozen=True)
class JobTiming:
    """Where a finished job's time went, in nanoseconds (Triton's statistics phases)."""

    queue_ns: int
    compute_input_ns: int
    compute_infer_ns: int
    compute_output_ns: int
    total_ns: int


class Job:
    """A request's inputs, the future its caller awaits, and when it was queued.

    The future belongs to the caller's event loop: workers never touch it directly, they hand the
    outcome over with `loop.call_soon_threadsafe` (see `worker.deliver`).
    """

    __slots__ = ("enqueued_ns", "future", "inputs", "loop", "rows", "signature")

    def __init__(
        self,
        inputs: Mapping[str, np.ndarray],
        loop: asyncio.AbstractEventLoop,
        *,
        rows: int = 0,
        signature: BatchSignature | None = None,
    ) -> None:
        self.inputs = inputs
        self.loop = loop
        self.future: asyncio.Future[dict[str, np.ndarray]] = loop.create_future()
        # Rows along the batch dimension, and the batch signature; None: this job runs alone.
        self.rows = rows
        self.signature = signature
        self.enqueued_ns = time.perf_counter_ns()


def batch_signature(inputs: Mapping[str, np.ndarray]) -> tuple[int, BatchSignature | None]:
    """The job's row count and batch signature; no signature when the inputs cannot be batched
    (a scalar input, or inputs that disagree on the batch dimension)."""
    rows = -1
    parts = []
    for name, array in inputs.items():
        shape = array.shape
        if not shape or (rows >= 0 and shape[0] != rows):
            return 0, None
        rows = shape[0]
        parts.append((name, array.dtype.str, shape[1:]))
    if rows <= 0:
        return 0, None
    parts.sort()
    return rows, tuple(parts)


def settle(job: Job, outcome: dict[str, np.ndarray] | ServerError) -> bool:
    """Completes the job's future on its loop; False when the caller had already given up."""
    if job.future.done():
        return False
    if isinstance(outcome, ServerError):
        job.future.set_exception(outcome)
    else:
        job.future.set_result(outcome)
    return True
