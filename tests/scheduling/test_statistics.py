"""The statistics read as one entry of Triton's `model_stats`."""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest

from repository_server.errors import QueueFullError
from repository_server.repository.config import DynamicBatching
from repository_server.scheduling import VersionStatistics
from tests.scheduling.gated import GatedModel, rows, scheduler_for, until

PHASES = {
    "success",
    "fail",
    "queue",
    "compute_input",
    "compute_infer",
    "compute_output",
    "cache_hit",
    "cache_miss",
}


def test_a_fresh_version_shows_zeroed_statistics_in_triton_shape() -> None:
    entry = VersionStatistics().to_json("densenet", 3)
    assert entry == {
        "name": "densenet",
        "version": "3",
        "last_inference": 0,
        "inference_count": 0,
        "execution_count": 0,
        "inference_stats": {phase: {"count": 0, "ns": 0} for phase in PHASES},
        "response_stats": {},
        "batch_stats": [],
        "memory_usage": [],
    }


def test_statistics_count_outcomes_rows_runs_and_phase_times() -> None:
    async def scenario() -> dict:
        model = GatedModel(open_gate=False)
        scheduler = scheduler_for(model, queue_size=2, max_batch_size=8, batching=DynamicBatching())
        try:
            held = asyncio.create_task(scheduler.infer({"INPUT0": rows(0, 2)}, 30))
            await until(lambda: model.entered == 1, "the worker inside the model")
            queued = [
                asyncio.create_task(scheduler.infer({"INPUT0": rows(i, 1)}, 30)) for i in range(2)
            ]
            await until(lambda: scheduler.pending == 2, "two queued requests")
            with pytest.raises(QueueFullError):
                await scheduler.infer({"INPUT0": rows(9, 1)}, 30)
            model.gate.set()
            await asyncio.gather(held, *queued)
            return scheduler.statistics.to_json("gated", 1)
        finally:
            model.gate.set()
            await scheduler.close(10)

    before_ms = time.time_ns() // 1_000_000
    entry = asyncio.run(scenario())
    assert before_ms <= entry["last_inference"] <= time.time_ns() // 1_000_000
    assert entry["inference_count"] == 4
    assert entry["execution_count"] == 2
    stats = entry["inference_stats"]
    assert set(stats) == PHASES
    assert stats["success"]["count"] == 3
    assert stats["fail"]["count"] == 1
    for phase in ("queue", "compute_input", "compute_infer", "compute_output"):
        assert stats[phase]["count"] == 3
    # Time spent waiting on the gate shows as compute for the held request and queue for the rest.
    assert stats["success"]["ns"] >= stats["queue"]["ns"] + stats["compute_infer"]["ns"] // 3
    assert stats["queue"]["ns"] > 0
    assert [batch["batch_size"] for batch in entry["batch_stats"]] == [2]
    assert entry["batch_stats"][0]["compute_infer"]["count"] == 2


def test_a_snapshot_is_an_immutable_copy() -> None:
    statistics = VersionStatistics()
    statistics.record_execution(4, 10, 20, 30)
    snapshot = statistics.snapshot()
    statistics.record_execution(2, 1, 2, 3)
    assert snapshot.inference_count == 4
    assert [batch.batch_size for batch in snapshot.batches] == [4]
    with pytest.raises(dataclasses.FrozenInstanceError):
        snapshot.inference_count = 0  # type: ignore[misc]
