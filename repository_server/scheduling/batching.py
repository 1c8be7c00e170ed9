"""Dynamic batching: which queued requests run together, and how they are joined and split."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from repository_server.errors import InferenceFailedError
from repository_server.repository.config import DynamicBatching
from repository_server.scheduling.job import Job
from repository_server.scheduling.queue import JobQueue

Tensors = dict[str, np.ndarray]


@dataclass(frozen=True)
class BatchPolicy:
    """Triton's dynamic batcher settings for one version."""

    max_batch_size: int
    preferred_sizes: frozenset[int]
    max_delay_seconds: float

    @classmethod
    def create(cls, max_batch_size: int, batching: DynamicBatching | None) -> BatchPolicy | None:
        """The policy, or None when the version does not batch (no batch dimension or no
        `dynamic_batching` in its config)."""
        if max_batch_size <= 0 or batching is None:
            return None
        return cls(
            max_batch_size=max_batch_size,
            preferred_sizes=frozenset(batching.preferred_batch_size),
            max_delay_seconds=batching.max_queue_delay_microseconds / 1_000_000,
        )

    def gather(self, first: Job, queue: JobQueue) -> list[Job]:
        """`first` and the queued jobs that join it: taken in order while they fit, until the
        batch reaches `max_batch_size` rows or a preferred size, or the delay runs out."""
        signature = first.signature
        if signature is None:
            return [first]
        jobs = [first]
        rows = first.rows
        deadline = time.monotonic() + self.max_delay_seconds
        while rows < self.max_batch_size and rows not in self.preferred_sizes:
            job = queue.take_companion(signature, self.max_batch_size - rows, deadline)
            if job is None:
                break
            jobs.append(job)
            rows += job.rows
        return jobs


def concatenate(jobs: Sequence[Job]) -> Tensors:
    """The jobs' inputs joined along the batch dimension (the jobs share one signature)."""
    return {
        name: np.concatenate([job.inputs[name] for job in jobs], axis=0) for name in jobs[0].inputs
    }


def split(outputs: Tensors, jobs: Sequence[Job]) -> list[Tensors]:
    """The batch's outputs cut back into each job's rows (views, no copies)."""
    total = sum(job.rows for job in jobs)
    offsets = np.cumsum([job.rows for job in jobs[:-1]])
    parts: list[Tensors] = [{} for _ in jobs]
    for name, array in outputs.items():
        if array.ndim == 0 or array.shape[0] != total:
            shape = list(array.shape)
            raise InferenceFailedError(
                f"output '{name}' has shape {shape}, not one row per input row of a batch of "
                f"{total}"
            )
        for part, piece in zip(parts, np.split(array, offsets, axis=0), strict=True):
            part[name] = piece
    return parts
