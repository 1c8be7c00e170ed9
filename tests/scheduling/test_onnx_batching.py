"""Dynamic batching on a real ONNX Runtime model: one run for several callers, rows split back."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from backends.base import DYNAMIC, ModelSpec, TensorSpec
from repository_server.repository.config import DynamicBatching
from repository_server.scheduling import Scheduler, VersionStatistics
from tests import models
from tests.scheduling.gated import rows

pytest.importorskip("onnxruntime")


def test_concurrent_requests_share_one_onnx_run_and_get_their_own_rows(tmp_path: Path) -> None:
    from backends import onnxruntime as backend

    models.add_model(tmp_path / "1" / "model.onnx", addend=0.5)
    spec = ModelSpec(
        name="add",
        inputs=(TensorSpec("INPUT0", "FP32", (DYNAMIC, 4)),),
        outputs=(TensorSpec("OUTPUT0", "FP32", (DYNAMIC, 4)),),
        max_batch_size=8,
    )
    loaded = backend.load(tmp_path / "1", spec)

    async def scenario() -> list[dict[str, np.ndarray]]:
        # A delay far longer than the test: the batch closes only when it holds 8 rows.
        scheduler = Scheduler(
            loaded,
            "add",
            1,
            workers=1,
            queue_size=8,
            max_batch_size=8,
            batching=DynamicBatching(max_queue_delay_microseconds=60_000_000),
            statistics=VersionStatistics(),
        )
        try:
            answers = await asyncio.gather(*(scheduler.infer(item, 30) for item in inputs))
            stats = scheduler.statistics.to_json("add", 1)
            assert [batch["batch_size"] for batch in stats["batch_stats"]] == [8]
            assert (stats["execution_count"], stats["inference_count"]) == (1, 8)
            return answers
        finally:
            await scheduler.close(10)

    inputs = [{"INPUT0": rows(10 * index, 2)} for index in range(4)]
    try:
        answers = asyncio.run(scenario())
    finally:
        loaded.close()
    for item, answer in zip(inputs, answers, strict=True):
        np.testing.assert_allclose(answer["OUTPUT0"], item["INPUT0"] + 0.5)
