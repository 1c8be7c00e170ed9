"""Building a scheduler the ways the manager does: by keywords, and from a model's config."""

from __future__ import annotations

import asyncio
import json

import numpy as np

from repository_server.repository.config import parse_config
from repository_server.scheduling import Scheduler, VersionStatistics
from tests.scheduling.gated import GatedModel, rows


def test_for_config_takes_queue_size_workers_and_batching_from_the_config() -> None:
    config = parse_config(
        json.dumps(
            {
                "max_batch_size": 8,
                "input": [{"name": "INPUT0", "data_type": "TYPE_FP32", "dims": [4]}],
                "output": [{"name": "OUTPUT0", "data_type": "TYPE_FP32", "dims": [4]}],
                "dynamic_batching": {"max_queue_delay_microseconds": 100},
                "parameters": {"job_queue_size": {"string_value": "7"}},
            }
        ),
        "adder",
    )

    async def scenario() -> None:
        scheduler = Scheduler.for_config(GatedModel(), config, 2, workers=2, default_queue_size=100)
        try:
            assert (scheduler.model, scheduler.version) == ("adder", 2)
            assert (scheduler.queue_size, scheduler.workers) == (7, 2)
            answer = await scheduler.infer({"INPUT0": rows(0, 3)}, 30)
            np.testing.assert_array_equal(answer["OUTPUT0"], rows(0, 3) * 2 + 1)
            assert scheduler.statistics.to_json("adder", 2)["batch_stats"][0]["batch_size"] == 3
        finally:
            await scheduler.close(10)

    asyncio.run(scenario())


def test_keywords_as_the_manager_passes_them() -> None:
    async def scenario() -> None:
        scheduler = Scheduler(
            GatedModel(),
            model="adder",
            version=1,
            workers=1,
            queue_size=100,
            max_batch_size=0,
            batching=None,
            statistics=VersionStatistics(),
        )
        try:
            answer = await scheduler.infer({"INPUT0": rows(0, 1)}, 30)
            np.testing.assert_array_equal(answer["OUTPUT0"], rows(0, 1) * 2 + 1)
        finally:
            assert await scheduler.close(10)

    asyncio.run(scenario())
