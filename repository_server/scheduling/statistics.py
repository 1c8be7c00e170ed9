"""Triton's model statistics for one served version: request outcomes, phase times, batches.

Workers and the event loop update the counters under one lock (a few integer additions per
request); readers take an immutable `StatisticsSnapshot`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from repository_server.scheduling.job import JobTiming


@dataclass(frozen=True)
class Duration:
    """A count of events and their cumulative duration in nanoseconds."""

    count: int = 0
    ns: int = 0

    def to_json(self) -> dict[str, int]:
        return {"count": self.count, "ns": self.ns}


@dataclass(frozen=True)
class BatchStatistics:
    """Executions of one batch size (in rows) and the time their phases took."""

    batch_size: int
    compute_input: Duration
    compute_infer: Duration
    compute_output: Duration

    def to_json(self) -> dict[str, Any]:
        return {
            "batch_size": self.batch_size,
            "compute_input": self.compute_input.to_json(),
            "compute_infer": self.compute_infer.to_json(),
            "compute_output": self.compute_output.to_json(),
        }


@dataclass(frozen=True)
class StatisticsSnapshot:
    """The counters of one version at one moment."""

    last_inference: int  # ms since the epoch; 0 before the first execution
    inference_count: int  # rows run
    execution_count: int  # model runs (a dynamic batch is one)
    success: Duration
    fail: Duration
    queue: Duration
    compute_input: Duration
    compute_infer: Duration
    compute_output: Duration
    batches: tuple[BatchStatistics, ...]

    def to_json(self, name: str, version: int) -> dict[str, Any]:
        """One entry of Triton's `model_stats` list."""
        return {
            "name": name,
            "version": str(version),
            "last_inference": self.last_inference,
            "inference_count": self.inference_count,
            "execution_count": self.execution_count,
            "inference_stats": {
                "success": self.success.to_json(),
                "fail": self.fail.to_json(),
                "queue": self.queue.to_json(),
                "compute_input": self.compute_input.to_json(),
                "compute_infer": self.compute_infer.to_json(),
                "compute_output": self.compute_output.to_json(),
                # No response cache: always zero, present because clients read them.
                "cache_hit": Duration().to_json(),
                "cache_miss": Duration().to_json(),
            },
            "response_stats": {},
            "batch_stats": [batch.to_json() for batch in self.batches],
            "memory_usage": [],
        }


_PHASES = ("success", "fail", "queue", "compute_input", "compute_infer", "compute_output")


class VersionStatistics:
    """The live counters of one served version; safe to update from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_inference = 0
        self._inference_count = 0
        self._execution_count = 0
        # phase -> [count, ns]
        self._phases: dict[str, list[int]] = {phase: [0, 0] for phase in _PHASES}
        # batch size -> [count, input ns, infer ns, output ns]
        self._batches: dict[int, list[int]] = {}

    def record_execution(
        self, rows: int, compute_input_ns: int, compute_infer_ns: int, compute_output_ns: int
    ) -> None:
        """One successful model run over `rows` rows (one request's or a dynamic batch's)."""
        now_ms = time.time_ns() // 1_000_000
        with self._lock:
            self._last_inference = now_ms
            self._inference_count += rows
            self._execution_count += 1
            batch = self._batches.get(rows)
            if batch is None:
                batch = self._batches[rows] = [0, 0, 0, 0]
            batch[0] += 1
            batch[1] += compute_input_ns
            batch[2] += compute_infer_ns
            batch[3] += compute_output_ns

    def record_success(self, timing: JobTiming) -> None:
        """One request answered; a request in a batch is charged the whole batch's compute time,
        as Triton does."""
        phases = self._phases
        with self._lock:
            for phase, ns in (
                ("success", timing.total_ns),
                ("queue", timing.queue_ns),
                ("compute_input", timing.compute_input_ns),
                ("compute_infer", timing.compute_infer_ns),
                ("compute_output", timing.compute_output_ns),
            ):
                counter = phases[phase]
                counter[0] += 1
                counter[1] += ns

    def record_failure(self, duration_ns: int) -> None:
        """One request that ended in an error: rejected, timed out, or failed in the model."""
        with self._lock:
            counter = self._phases["fail"]
            counter[0] += 1
            counter[1] += duration_ns

    def snapshot(self) -> StatisticsSnapshot:
        with self._lock:
            phases = {phase: Duration(*counter) for phase, counter in self._phases.items()}
            batches = tuple(
                BatchStatistics(size, Duration(count, a), Duration(count, b), Duration(count, c))
                for size, (count, a, b, c) in sorted(self._batches.items())
            )
            return StatisticsSnapshot(
                last_inference=self._last_inference,
                inference_count=self._inference_count,
                execution_count=self._execution_count,
                batches=batches,
                **phases,
            )

    def to_json(self, name: str, version: int) -> dict[str, Any]:
        """One entry of Triton's `model_stats` list."""
        return self.snapshot().to_json(name, version)
