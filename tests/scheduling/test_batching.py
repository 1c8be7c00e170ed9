"""Dynamic batching: queued requests run as one model call and each caller gets its own rows."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from repository_server.errors import InferenceFailedError
from repository_server.repository.config import DynamicBatching
from repository_server.scheduling import Scheduler, WorkerStatus
from tests.scheduling.gated import GatedModel, rows, scheduler_for, until


async def queue_behind_a_held_request(
    scheduler: Scheduler, model: GatedModel, inputs: list[dict[str, np.ndarray]]
) -> list[asyncio.Task[dict[str, np.ndarray]]]:
    """Holds the single worker in the model with one request, then queues `inputs` behind it."""
    held = asyncio.create_task(scheduler.infer({"INPUT0": rows(-1, 1)}, 30))
    await until(lambda: model.entered == 1, "the worker to be held in the model")
    tasks = [asyncio.create_task(scheduler.infer(item, 30)) for item in inputs]
    await until(lambda: scheduler.pending == len(inputs), "the requests to queue")
    return [held, *tasks]


def run_batched(
    inputs: list[dict[str, np.ndarray]], max_batch_size: int, batching: DynamicBatching
) -> tuple[GatedModel, Scheduler, list[dict[str, np.ndarray]]]:
    async def scenario() -> tuple[GatedModel, Scheduler, list[dict[str, np.ndarray]]]:
        model = GatedModel(open_gate=False)
        scheduler = scheduler_for(model, max_batch_size=max_batch_size, batching=batching)
        try:
            tasks = await queue_behind_a_held_request(scheduler, model, inputs)
            model.gate.set()
            answers = await asyncio.gather(*tasks)
        finally:
            model.gate.set()
            await scheduler.close(10)
        return model, scheduler, answers[1:]

    return asyncio.run(scenario())


def assert_own_rows(
    inputs: list[dict[str, np.ndarray]], answers: list[dict[str, np.ndarray]]
) -> None:
    for item, answer in zip(inputs, answers, strict=True):
        assert answer["OUTPUT0"].shape == item["INPUT0"].shape
        np.testing.assert_array_equal(answer["OUTPUT0"], item["INPUT0"] * 2 + 1)


def test_queued_requests_run_as_one_batch_and_each_caller_gets_its_own_rows() -> None:
    inputs = [
        {"INPUT0": rows(start, count)} for start, count in ((0, 1), (10, 2), (20, 1), (30, 3))
    ]
    model, scheduler, answers = run_batched(inputs, 8, DynamicBatching())
    assert model.batch_rows == [1, 7]
    assert_own_rows(inputs, answers)
    stats = scheduler.statistics.to_json("gated", 1)
    assert [(b["batch_size"], b["compute_infer"]["count"]) for b in stats["batch_stats"]] == [
        (1, 1),
        (7, 1),
    ]
    assert stats["execution_count"] == 2
    assert stats["inference_count"] == 8
    assert stats["inference_stats"]["success"]["count"] == 5
    # Each request in a batch is charged the batch's compute time, as Triton does.
    assert stats["inference_stats"]["compute_infer"]["count"] == 5


def test_a_batch_stops_at_max_batch_size_without_splitting_a_request() -> None:
    inputs = [{"INPUT0": rows(10 * index, 2)} for index in range(3)] + [{"INPUT0": rows(90, 3)}]
    model, _, answers = run_batched(inputs, 4, DynamicBatching())
    assert model.batch_rows == [1, 4, 2, 3]
    assert_own_rows(inputs, answers)


def test_a_batch_stops_at_a_preferred_batch_size() -> None:
    inputs = [{"INPUT0": rows(10 * index, 1)} for index in range(5)]
    model, _, answers = run_batched(inputs, 8, DynamicBatching(preferred_batch_size=(2,)))
    assert model.batch_rows == [1, 2, 2, 1]
    assert_own_rows(inputs, answers)


def test_requests_with_different_row_shapes_run_separately_in_order() -> None:
    inputs = [
        {"INPUT0": rows(0, 1)},
        {"INPUT0": rows(10, 1, width=3)},
        {"INPUT0": rows(20, 2)},
        {"INPUT0": rows(30, 1)},
    ]
    model, _, answers = run_batched(inputs, 8, DynamicBatching())
    assert model.batch_rows == [1, 1, 1, 3]
    assert_own_rows(inputs, answers)


def test_requests_with_different_dtypes_are_not_batched_together() -> None:
    inputs = [{"INPUT0": rows(0, 1)}, {"INPUT0": rows(10, 1).astype(np.float64)}]
    model, _, answers = run_batched(inputs, 8, DynamicBatching())
    assert model.batch_rows == [1, 1, 1]
    assert answers[1]["OUTPUT0"].dtype == np.float64
    assert_own_rows(inputs, answers)


def test_the_batcher_waits_up_to_the_queue_delay_for_more_requests() -> None:
    async def scenario() -> None:
        model = GatedModel()
        # A delay far longer than the test: only reaching max_batch_size can end the wait.
        batching = DynamicBatching(max_queue_delay_microseconds=60_000_000)
        scheduler = scheduler_for(model, max_batch_size=2, batching=batching)
        try:
            first = asyncio.create_task(scheduler.infer({"INPUT0": rows(0, 1)}, 30))
            await until(
                lambda: (
                    scheduler.pending == 0
                    and scheduler.worker_info()[0].status is WorkerStatus.BUSY
                ),
                "the worker to take the first request and wait for company",
            )
            assert model.entered == 0
            second = await scheduler.infer({"INPUT0": rows(5, 1)}, 30)
            np.testing.assert_array_equal(second["OUTPUT0"], rows(5, 1) * 2 + 1)
            np.testing.assert_array_equal((await first)["OUTPUT0"], rows(0, 1) * 2 + 1)
            assert model.batch_rows == [2]
        finally:
            await scheduler.close(10)

    asyncio.run(scenario())


def test_without_dynamic_batching_every_request_runs_alone() -> None:
    inputs = [{"INPUT0": rows(10 * index, 2)} for index in range(3)]

    async def scenario() -> GatedModel:
        model = GatedModel(open_gate=False)
        scheduler = scheduler_for(model, max_batch_size=8, batching=None)
        try:
            tasks = await queue_behind_a_held_request(scheduler, model, inputs)
            model.gate.set()
            assert_own_rows(inputs, list(await asyncio.gather(*tasks))[1:])
            # Rows still count as inferences for a model with a batch dimension.
            assert scheduler.statistics.snapshot().inference_count == 7
        finally:
            model.gate.set()
            await scheduler.close(10)
        return model

    assert asyncio.run(scenario()).batch_rows == [1, 2, 2, 2]


def test_a_batch_whose_output_rows_do_not_match_fails_every_caller_with_the_reason() -> None:
    async def scenario() -> None:
        model = GatedModel(open_gate=False)
        model.output = lambda x: x[:1]
        scheduler = scheduler_for(model, max_batch_size=8, batching=DynamicBatching())
        try:
            tasks = await queue_behind_a_held_request(
                scheduler, model, [{"INPUT0": rows(0, 1)}, {"INPUT0": rows(10, 2)}]
            )
            model.gate.set()
            outcomes = await asyncio.gather(*tasks, return_exceptions=True)
            assert isinstance(outcomes[0], dict)
            for outcome in outcomes[1:]:
                assert isinstance(outcome, InferenceFailedError)
                assert "output 'OUTPUT0' has shape [1, 4]" in outcome.message
                assert "batch of 3" in outcome.message
        finally:
            model.gate.set()
            await scheduler.close(10)

    asyncio.run(scenario())


@pytest.mark.parametrize("max_batch_size", [0, -1])
def test_no_batching_without_a_batch_dimension(max_batch_size: int) -> None:
    inputs = [{"INPUT0": rows(10 * index, 1)} for index in range(3)]
    model, scheduler, answers = run_batched(inputs, max_batch_size, DynamicBatching())
    assert model.batch_rows == [1, 1, 1, 1]
    assert_own_rows(inputs, answers)
    # Triton counts a request to a model without a batch dimension as one inference.
    assert scheduler.statistics.snapshot().inference_count == 4
