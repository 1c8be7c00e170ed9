"""Worker threads: they run requests in parallel, and scale up and down without a reload."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from repository_server.scheduling import WorkerStatus
from tests.scheduling.gated import GatedModel, rows, scheduler_for, until


def test_each_worker_runs_a_request_at_the_same_time() -> None:
    async def scenario() -> None:
        model = GatedModel(open_gate=False)
        scheduler = scheduler_for(model, workers=3)
        try:
            inputs = [{"INPUT0": rows(10 * index, 1)} for index in range(3)]
            tasks = [asyncio.create_task(scheduler.infer(item, 30)) for item in inputs]
            await until(lambda: model.entered == 3, "three requests inside the model at once")
            assert [info.status for info in scheduler.worker_info()] == [WorkerStatus.BUSY] * 3
            model.gate.set()
            for task, item in zip(tasks, inputs, strict=True):
                np.testing.assert_array_equal((await task)["OUTPUT0"], item["INPUT0"] * 2 + 1)
        finally:
            model.gate.set()
            await scheduler.close(10)

    asyncio.run(scenario())


def test_scaling_up_adds_ready_workers_and_scaling_down_removes_them() -> None:
    async def scenario() -> None:
        model = GatedModel()
        scheduler = scheduler_for(model, workers=1)
        try:
            first_id = scheduler.worker_info()[0].id
            scheduler.scale(3)
            assert scheduler.workers == 3
            infos = scheduler.worker_info()
            assert len({info.id for info in infos}) == 3
            assert {info.status for info in infos} == {WorkerStatus.READY}
            scheduler.scale(1)
            assert scheduler.workers == 1
            assert await scheduler.wait_scaled(10)
            assert [info.id for info in scheduler.worker_info()] == [first_id]
            threads = [t.name for t in threading.enumerate() if t.name.startswith("gated-v1-")]
            assert len(threads) == 1
            answer = await scheduler.infer({"INPUT0": rows(0, 2)}, 30)
            np.testing.assert_array_equal(answer["OUTPUT0"], rows(0, 2) * 2 + 1)
        finally:
            await scheduler.close(10)

    asyncio.run(scenario())


def test_scaling_down_lets_a_busy_worker_finish_its_request() -> None:
    async def scenario() -> None:
        model = GatedModel(open_gate=False)
        scheduler = scheduler_for(model, workers=2)
        try:
            tasks = [
                asyncio.create_task(scheduler.infer({"INPUT0": rows(i, 1)}, 30)) for i in range(2)
            ]
            await until(lambda: model.entered == 2, "both workers busy")
            scheduler.scale(1)
            statuses = sorted(info.status.value for info in scheduler.worker_info())
            assert statuses == ["BUSY", "STOPPING"]
            # The stopping worker is still inside the model, so it cannot have exited yet.
            assert not await scheduler.wait_scaled(0.05)
            model.gate.set()
            assert await scheduler.wait_scaled(10)
            for index, task in enumerate(tasks):
                np.testing.assert_array_equal((await task)["OUTPUT0"], rows(index, 1) * 2 + 1)
            await until(
                lambda: [info.status for info in scheduler.worker_info()] == [WorkerStatus.READY],
                "the remaining worker to be idle again",
            )
        finally:
            model.gate.set()
            await scheduler.close(10)

    asyncio.run(scenario())


def test_scaling_down_stops_idle_workers_before_busy_ones() -> None:
    async def scenario() -> None:
        model = GatedModel(open_gate=False)
        scheduler = scheduler_for(model, workers=3)
        try:
            task = asyncio.create_task(scheduler.infer({"INPUT0": rows(0, 1)}, 30))
            await until(lambda: model.entered == 1, "one worker busy")
            scheduler.scale(1)
            assert await scheduler.wait_scaled(10)
            assert [info.status for info in scheduler.worker_info()] == [WorkerStatus.BUSY]
            model.gate.set()
            await task
        finally:
            model.gate.set()
            await scheduler.close(10)

    asyncio.run(scenario())


def test_worker_info_reads_as_torchserve_describes_workers() -> None:
    async def scenario() -> None:
        scheduler = scheduler_for(GatedModel(), workers=1)
        try:
            described = scheduler.worker_info()[0].to_json()
            assert described["status"] == "READY"
            assert described["startTime"].endswith("Z")
            assert set(described) == {
                "id",
                "startTime",
                "status",
                "memoryUsage",
                "pid",
                "gpu",
                "gpuUsage",
            }
            assert described["gpu"] is False
        finally:
            await scheduler.close(10)

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("workers", "queue_size", "named"), [(-1, 4, "worker count"), (1, 0, "job_queue_size")]
)
def test_bad_sizes_are_refused_with_a_message_naming_them(
    workers: int, queue_size: int, named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        scheduler_for(GatedModel(), workers=workers, queue_size=queue_size)
