"""Per-request timeouts, whether the request is still queued or already running."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from repository_server.errors import RequestTimeoutError
from tests.scheduling.gated import GatedModel, rows, scheduler_for, until


def test_a_request_that_times_out_in_the_queue_is_never_run() -> None:
    async def scenario() -> None:
        model = GatedModel(open_gate=False)
        scheduler = scheduler_for(model, workers=1, queue_size=1)
        try:
            running = asyncio.create_task(scheduler.infer({"INPUT0": rows(0, 1)}, 30))
            await until(lambda: model.entered == 1, "the worker inside the model")
            with pytest.raises(RequestTimeoutError) as caught:
                await scheduler.infer({"INPUT0": rows(1, 1)}, 0.05)
            assert caught.value.status == 408
            assert "'gated' version 1 timed out after 50 ms" in caught.value.message
            # Its place in the queue is free again at once.
            assert scheduler.pending == 0
            assert scheduler.remaining_capacity == 1

            model.gate.set()
            np.testing.assert_array_equal((await running)["OUTPUT0"], rows(0, 1) * 2 + 1)
            after = await scheduler.infer({"INPUT0": rows(2, 1)}, 30)
            np.testing.assert_array_equal(after["OUTPUT0"], rows(2, 1) * 2 + 1)
            assert model.entered == 2, "the timed-out request never reached the model"
            stats = scheduler.statistics.snapshot()
            assert (stats.success.count, stats.fail.count) == (2, 1)
        finally:
            model.gate.set()
            await scheduler.close(10)

    asyncio.run(scenario())


def test_a_running_request_that_times_out_answers_at_the_timeout() -> None:
    async def scenario() -> None:
        model = GatedModel(open_gate=False)
        scheduler = scheduler_for(model, workers=1)
        try:
            # Long enough for the idle worker to take it first, even on a loaded machine.
            task = asyncio.create_task(scheduler.infer({"INPUT0": rows(0, 1)}, 0.5))
            await until(lambda: model.entered == 1, "the request to be running")
            with pytest.raises(RequestTimeoutError):
                await task
            model.gate.set()
            # The worker finishes the abandoned call and serves the next request.
            answer = await scheduler.infer({"INPUT0": rows(3, 1)}, 30)
            np.testing.assert_array_equal(answer["OUTPUT0"], rows(3, 1) * 2 + 1)
            stats = scheduler.statistics.snapshot()
            assert (stats.success.count, stats.fail.count) == (1, 1)
        finally:
            model.gate.set()
            await scheduler.close(10)

    asyncio.run(scenario())


def test_a_cancelled_caller_leaves_the_queue() -> None:
    async def scenario() -> None:
        model = GatedModel(open_gate=False)
        scheduler = scheduler_for(model, workers=1)
        try:
            running = asyncio.create_task(scheduler.infer({"INPUT0": rows(0, 1)}, 30))
            await until(lambda: model.entered == 1, "the worker inside the model")
            queued = asyncio.create_task(scheduler.infer({"INPUT0": rows(1, 1)}, 30))
            await until(lambda: scheduler.pending == 1, "a queued request")
            queued.cancel()
            with pytest.raises(asyncio.CancelledError):
                await queued
            assert scheduler.pending == 0
            model.gate.set()
            await running
            assert model.entered == 1
        finally:
            model.gate.set()
            await scheduler.close(10)

    asyncio.run(scenario())
