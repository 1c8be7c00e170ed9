"""Closing: refuse new requests at once, let queued and running ones finish, stop the workers."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

from repository_server.errors import VersionNotReadyError
from tests.scheduling.gated import GatedModel, rows, scheduler_for, until


def worker_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("gated-v1-")]


def test_close_refuses_new_requests_and_drains_queued_and_running_ones() -> None:
    async def scenario() -> None:
        model = GatedModel(open_gate=False)
        scheduler = scheduler_for(model, workers=1, queue_size=4)
        inputs = [{"INPUT0": rows(10 * index, 1)} for index in range(3)]
        tasks = [asyncio.create_task(scheduler.infer(item, 30)) for item in inputs]
        await until(
            lambda: model.entered == 1 and scheduler.pending == 2, "one running, two queued"
        )

        closing = asyncio.create_task(scheduler.close(30))
        await asyncio.sleep(0)  # one turn of the loop: close() begins and stops taking requests
        with pytest.raises(VersionNotReadyError) as caught:
            await scheduler.infer(inputs[0], 30)
        assert caught.value.status == 503
        assert not closing.done()

        model.gate.set()
        assert await closing is True
        for task, item in zip(tasks, inputs, strict=True):
            np.testing.assert_array_equal((await task)["OUTPUT0"], item["INPUT0"] * 2 + 1)
        assert model.finished == 3
        assert scheduler.worker_info() == []
        assert worker_threads() == []

    asyncio.run(scenario())


def test_close_past_its_timeout_fails_the_queued_requests_and_reports_a_busy_model() -> None:
    async def scenario() -> None:
        model = GatedModel(open_gate=False)
        scheduler = scheduler_for(model, workers=1, queue_size=4)
        running = asyncio.create_task(scheduler.infer({"INPUT0": rows(0, 1)}, 30))
        await until(lambda: model.entered == 1, "the worker inside the model")
        queued = asyncio.create_task(scheduler.infer({"INPUT0": rows(1, 1)}, 30))
        await until(lambda: scheduler.pending == 1, "a queued request")

        # The model never returns within the timeout, so the worker is still inside it.
        assert await scheduler.close(0.05) is False
        with pytest.raises(VersionNotReadyError):
            await queued
        assert model.entered == 1, "the queued request never reached the model"

        model.gate.set()
        np.testing.assert_array_equal((await running)["OUTPUT0"], rows(0, 1) * 2 + 1)
        await until(lambda: worker_threads() == [], "the worker to exit after its request")

    asyncio.run(scenario())


def test_close_of_an_idle_scheduler_stops_its_workers_at_once() -> None:
    async def scenario() -> None:
        scheduler = scheduler_for(GatedModel(), workers=3)
        assert len(worker_threads()) == 3
        assert await scheduler.close(10) is True
        assert worker_threads() == []
        with pytest.raises(VersionNotReadyError):
            scheduler.scale(2)

    asyncio.run(scenario())
