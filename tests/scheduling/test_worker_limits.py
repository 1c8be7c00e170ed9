"""Worker counts have a maximum per version, and a thread that cannot start leaves the version
with the workers it had (no half-started worker, no leaked thread)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from repository_server.errors import InvalidRequestError, WorkerStartError
from repository_server.scheduling import MAX_WORKERS_PER_VERSION, check_worker_count
from tests.scheduling.gated import GatedModel, rows, scheduler_for

ROOT = Path(__file__).resolve().parents[2]


def workers_alive() -> int:
    return sum(thread.name.startswith("gated-v1-") for thread in threading.enumerate())


def test_the_check_names_the_parameter_and_the_maximum() -> None:
    assert check_worker_count(MAX_WORKERS_PER_VERSION, "min_worker") == MAX_WORKERS_PER_VERSION
    with pytest.raises(InvalidRequestError) as caught:
        check_worker_count(100000, "min_worker")
    assert caught.value.status == 400
    assert caught.value.message == (
        f"min_worker 100000 is more than the maximum of {MAX_WORKERS_PER_VERSION} workers per "
        "version"
    )


def test_scaling_over_the_maximum_is_refused_before_any_thread_starts() -> None:
    async def scenario() -> None:
        scheduler = scheduler_for(GatedModel(), workers=1)
        try:
            with pytest.raises(InvalidRequestError) as caught:
                scheduler.scale(100000)
            assert caught.value.message == (
                "model 'gated' version 1: worker count 100000 is more than the maximum of "
                f"{MAX_WORKERS_PER_VERSION} workers per version"
            )
            assert scheduler.workers == 1
            assert workers_alive() == 1
            answer = await scheduler.infer({"INPUT0": rows(0, 1)}, 30)
            np.testing.assert_array_equal(answer["OUTPUT0"], rows(0, 1) * 2 + 1)
        finally:
            await scheduler.close(10)

    asyncio.run(scenario())


def test_a_scheduler_is_not_built_with_more_than_the_maximum() -> None:
    with pytest.raises(InvalidRequestError, match="worker count 129 is more than the maximum"):
        scheduler_for(GatedModel(), workers=MAX_WORKERS_PER_VERSION + 1)
    assert workers_alive() == 0


def test_the_maximum_itself_starts_and_stops() -> None:
    async def scenario() -> None:
        scheduler = scheduler_for(GatedModel(), workers=0)
        try:
            scheduler.scale(MAX_WORKERS_PER_VERSION)
            assert scheduler.workers == MAX_WORKERS_PER_VERSION == workers_alive()
            scheduler.scale(0)
            assert await scheduler.wait_scaled(30)
            assert workers_alive() == 0
        finally:
            await scheduler.close(30)

    asyncio.run(scenario())


def test_a_thread_that_cannot_start_leaves_the_workers_as_they_were() -> None:
    async def scenario() -> None:
        scheduler = scheduler_for(GatedModel(), workers=1)
        try:
            # A 1 PiB stack, more than a process can map even with overcommit: the next thread
            # cannot be created.
            previous = threading.stack_size(2**50)
            try:
                with pytest.raises(WorkerStartError) as caught:
                    scheduler.scale(3)
            finally:
                threading.stack_size(previous)
            assert caught.value.status == 500
            assert caught.value.torchserve_type == "WorkerInitializationException"
            assert caught.value.message == (
                "Failed to start workers for model gated version: 1: worker 2 of 3 could not "
                "start a thread (can't start new thread); the version keeps its 1 worker"
            )
            assert scheduler.workers == 1
            assert len(scheduler.worker_info()) == 1
            # Later scales work both ways: no half-started worker is left to join.
            scheduler.scale(3)
            assert workers_alive() == 3
            scheduler.scale(0)
            assert await scheduler.wait_scaled(10)
            scheduler.scale(1)
            answer = await scheduler.infer({"INPUT0": rows(0, 1)}, 30)
            np.testing.assert_array_equal(answer["OUTPUT0"], rows(0, 1) * 2 + 1)
        finally:
            assert await scheduler.close(10)

    asyncio.run(scenario())


def test_running_out_of_threads_midway_stops_the_workers_that_call_started() -> None:
    finished = subprocess.run(
        [sys.executable, "-m", "tests.scheduling.starved"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    outcome = json.loads(finished.stdout)
    assert outcome["status"] == 500
    assert outcome["error"].startswith("Failed to start workers for model gated version: 1: ")
    assert outcome["error"].endswith("; the version keeps its 1 worker")
    # Some workers did start before the failure; all of them were stopped again.
    assert not outcome["error"].startswith(
        "Failed to start workers for model gated version: 1: worker 2 of"
    ), "the limit left no room for a partial start"
    assert outcome["workers"] == 1
    assert outcome["rolled_back"] is True
    assert outcome["alive_after_rollback"] == 1
    assert outcome["answer"] == [[1.0, 1.0, 1.0, 1.0]]
    assert outcome["scaled_up"] == 2
    assert outcome["scaled_down"] is True
    assert outcome["closed"] is True
