"""A full queue refuses at once; what fits in the queue and the workers is served."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from repository_server.errors import QueueFullError
from tests.scheduling.gated import GatedModel, rows, scheduler_for, until


def test_ten_concurrent_requests_on_a_queue_of_two_refuse_the_excess_at_once() -> None:
    async def scenario() -> None:
        model = GatedModel(open_gate=False)
        scheduler = scheduler_for(model, workers=1, queue_size=2)
        try:
            inputs = [{"INPUT0": rows(10 * index, 1)} for index in range(10)]
            first = asyncio.create_task(scheduler.infer(inputs[0], 30))
            await until(lambda: model.entered == 1, "the worker to take the first request")
            rest = [asyncio.create_task(scheduler.infer(item, 30)) for item in inputs[1:]]
            # The worker is held inside the model: only refusals can finish now.
            await until(lambda: sum(task.done() for task in rest) == 7, "seven refusals")
            refused = [task for task in rest if task.done()]
            for task in refused:
                with pytest.raises(QueueFullError) as caught:
                    task.result()
                assert caught.value.status == 503
                assert "has no worker to serve inference request" in caught.value.message
            assert rest[:2] == [task for task in rest if not task.done()], (
                "FIFO: the first two queued"
            )
            assert scheduler.pending == 2
            assert scheduler.remaining_capacity == 0

            model.gate.set()
            answers = await asyncio.gather(first, *rest[:2])
            for answer, item in zip(answers, inputs[:3], strict=True):
                np.testing.assert_array_equal(answer["OUTPUT0"], item["INPUT0"] * 2 + 1)
            stats = scheduler.statistics.snapshot()
            assert (stats.success.count, stats.fail.count) == (3, 7)
            assert scheduler.remaining_capacity == 2
        finally:
            model.gate.set()
            await scheduler.close(10)

    asyncio.run(scenario())


def test_a_burst_fills_the_idle_workers_and_the_queue_before_any_refusal() -> None:
    # TorchServe's job_queue_size is the room in front of the workers: with 4 idle workers and a
    # queue of 3, 7 requests arriving together are all taken, even before a worker wakes.
    async def scenario() -> None:
        model = GatedModel(open_gate=False)
        scheduler = scheduler_for(model, workers=4, queue_size=3)
        try:
            await until(lambda: scheduler.idle_workers == 4, "four idle workers")
            burst = [
                asyncio.create_task(scheduler.infer({"INPUT0": rows(i, 1)}, 30)) for i in range(8)
            ]
            await until(lambda: model.entered == 4, "every worker to take a request")
            await until(lambda: sum(task.done() for task in burst) == 1, "one refusal")
            with pytest.raises(QueueFullError):
                burst[-1].result()
            assert scheduler.pending == 3
            model.gate.set()
            answers = await asyncio.gather(*burst[:7])
            assert len(answers) == 7
        finally:
            model.gate.set()
            await scheduler.close(10)

    asyncio.run(scenario())


def test_a_version_scaled_to_zero_workers_refuses_at_once() -> None:
    async def scenario() -> None:
        model = GatedModel()
        scheduler = scheduler_for(model, workers=0, queue_size=4)
        try:
            with pytest.raises(QueueFullError):
                await scheduler.infer({"INPUT0": rows(0, 1)}, 30)
            assert model.entered == 0
            scheduler.scale(1)
            answer = await scheduler.infer({"INPUT0": rows(0, 1)}, 30)
            np.testing.assert_array_equal(answer["OUTPUT0"], rows(0, 1) * 2 + 1)
        finally:
            await scheduler.close(10)

    asyncio.run(scenario())


def test_jobs_queued_when_the_last_worker_goes_are_refused_at_once() -> None:
    async def scenario() -> None:
        model = GatedModel(open_gate=False)
        scheduler = scheduler_for(model, workers=1, queue_size=3)
        try:
            running = asyncio.create_task(scheduler.infer({"INPUT0": rows(0, 1)}, 60))
            await until(lambda: model.entered == 1, "the worker to take the first request")
            queued = [
                asyncio.create_task(scheduler.infer({"INPUT0": rows(i, 1)}, 60))
                for i in range(1, 4)
            ]
            await until(lambda: scheduler.pending == 3, "three queued requests")
            scheduler.scale(0)
            # Answered now, not when their 60 s timeout ends.
            outcomes = await asyncio.wait_for(
                asyncio.gather(*queued, return_exceptions=True), timeout=10
            )
            for outcome in outcomes:
                assert isinstance(outcome, QueueFullError)
                assert outcome.status == 503
                assert outcome.message == (
                    'Model "gated" has no worker to serve inference request. '
                    "Please use scale workers API to add workers."
                )
            assert scheduler.pending == 0
            assert scheduler.remaining_capacity == 3
            with pytest.raises(QueueFullError):
                await scheduler.infer({"INPUT0": rows(9, 1)}, 60)
            # The request already running finishes on its stopping worker.
            model.gate.set()
            np.testing.assert_array_equal((await running)["OUTPUT0"], rows(0, 1) * 2 + 1)
            assert await scheduler.wait_scaled(10)
            assert scheduler.statistics.snapshot().fail.count == 4
            scheduler.scale(1)
            answer = await scheduler.infer({"INPUT0": rows(5, 1)}, 60)
            np.testing.assert_array_equal(answer["OUTPUT0"], rows(5, 1) * 2 + 1)
        finally:
            model.gate.set()
            await scheduler.close(10)

    asyncio.run(scenario())
