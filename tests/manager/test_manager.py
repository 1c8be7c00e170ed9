"""The ModelManager on real files with ONNX Runtime: loads, swaps, drains, failures."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from repository_server.errors import (
    ModelNotFoundError,
    NoVersionAvailableError,
    VersionNotFoundError,
    VersionNotReadyError,
)
from repository_server.repository import AllPolicy, LatestPolicy, SpecificPolicy

pytestmark = pytest.mark.anyio


async def test_loads_the_latest_version_and_serves_it_by_default(harness, repository):
    repository.add_version("m", 1)
    repository.add_version("m", 2)
    assert await harness.sync("m") == {}
    assert harness.states("m") == {2: ("READY", "")}
    assert await harness.infer("m") == 2.0
    with pytest.raises(VersionNotFoundError):
        harness.manager.get("m", 1)


async def test_all_policy_serves_every_version_and_the_highest_is_default(harness, repository):
    for version in (1, 2, 3):
        repository.add_version("m", version)
    await harness.sync("m", AllPolicy())
    assert [await harness.infer("m", v) for v in (1, 2, 3)] == [1.0, 2.0, 3.0]
    assert await harness.infer("m") == 3.0


async def test_new_version_takes_over_then_the_old_one_is_unloaded(harness, repository):
    repository.add_version("m", 1)
    await harness.sync("m")
    old = harness.manager.get("m", 1)
    repository.add_version("m", 2)
    await harness.sync("m")
    assert await harness.infer("m") == 2.0
    await harness.drained()
    assert harness.states("m") == {1: ("UNAVAILABLE", "unloaded"), 2: ("READY", "")}
    with pytest.raises(VersionNotReadyError):
        harness.manager.get("m", 1)
    with pytest.raises(VersionNotReadyError):
        await old.infer({"INPUT0": np.zeros((1, 4), np.float32)})


async def test_broken_newest_version_leaves_the_previous_one_serving(harness, repository):
    repository.add_version("m", 1)
    repository.add_version("m", 2)
    await harness.sync("m")
    repository.break_version("m", 3)
    failures = await harness.sync("m")
    assert list(failures) == [3]
    states = harness.states("m")
    assert states[2] == ("READY", "")
    assert states[3][0] == "UNAVAILABLE"
    assert states[3][1].startswith("m/3/model.onnx: ")
    assert await harness.infer("m") == 2.0
    # Not retried while its files stay the same.
    assert await harness.sync("m") == {}
    # Fixed in place: loads and takes over.
    repository.rewrite_version("m", 3, 3.0)
    assert await harness.sync("m") == {}
    assert await harness.infer("m") == 3.0


async def test_broken_version_at_start_falls_back_to_the_next_good_one(harness, repository):
    repository.add_version("m", 1)
    repository.break_version("m", 2)
    failures = await harness.sync("m")
    assert list(failures) == [2]
    assert harness.states("m")[1] == ("READY", "")
    assert await harness.infer("m") == 1.0


async def test_rewritten_version_reloads_beside_the_serving_copy(harness, repository):
    repository.add_version("m", 1)
    await harness.sync("m")
    first = harness.manager.get("m", 1)
    repository.rewrite_version("m", 1, 10.0)
    await harness.sync("m")
    second = harness.manager.get("m", 1)
    assert second is not first
    assert await harness.infer("m", 1) == 10.0
    await harness.drained()
    assert harness.states("m") == {1: ("READY", "")}


async def test_failed_reload_keeps_the_serving_copy_and_says_why(harness, repository):
    repository.add_version("m", 1)
    await harness.sync("m")
    repository.break_version("m", 1)
    failures = await harness.sync("m")
    assert list(failures) == [1]
    state, reason = harness.states("m")[1]
    assert state == "READY"
    assert reason.startswith("a new copy failed to load, this one keeps serving: m/1/model.onnx")
    assert await harness.infer("m", 1) == 1.0


async def test_removed_version_finishes_in_flight_requests(harness, repository, tmp_path):
    from tests import models

    slow = models.slow_model(tmp_path / "slow" / "model.onnx")
    models.publish_version(repository.root / "m", 1, slow)
    await harness.sync("m")
    served = harness.manager.get("m", 1)
    in_flight = [
        asyncio.create_task(served.infer({"INPUT0": np.zeros((1, 4), np.float32)}))
        for _ in range(4)
    ]
    await asyncio.sleep(0)  # the requests are queued before the removal
    repository.remove_version("m", 1)
    await harness.sync("m")
    with pytest.raises(NoVersionAvailableError):
        harness.manager.get("m")
    results = await asyncio.gather(*in_flight)
    assert [float(r["OUTPUT0"][0, 0]) for r in results] == [1.0] * 4
    await harness.drained()
    assert harness.states("m") == {1: ("UNAVAILABLE", "unloaded")}


async def test_specific_policy_reports_missing_versions(harness, repository):
    repository.add_version("m", 1)
    repository.add_version("m", 3)
    await harness.sync("m", SpecificPolicy(frozenset({1, 2})))
    assert harness.states("m") == {
        1: ("READY", ""),
        2: ("UNAVAILABLE", "version folder not found"),
    }


async def test_latest_larger_than_what_exists_serves_all(harness, repository):
    repository.add_version("m", 1)
    repository.add_version("m", 2)
    await harness.sync("m", LatestPolicy(5))
    assert set(harness.states("m")) == {1, 2}


async def test_instance_group_change_scales_without_reload(harness, repository):
    repository.config("m", instance_group=[{"count": 1}])
    repository.add_version("m", 1)
    await harness.sync("m")
    served = harness.manager.get("m", 1)
    assert served.scheduler.workers == 1
    repository.config(
        "m", instance_group=[{"count": 3}], version_policy={"latest": {"num_versions": 1}}
    )
    await harness.sync("m")
    assert harness.manager.get("m", 1) is served
    assert served.scheduler.workers == 3


async def test_config_change_reloads(harness, repository):
    repository.config("m", max_batch_size=8)
    repository.add_version("m", 1)
    await harness.sync("m")
    served = harness.manager.get("m", 1)
    repository.config("m", max_batch_size=4)
    await harness.sync("m")
    assert harness.manager.get("m", 1) is not served
    assert harness.manager.get("m", 1).config.max_batch_size == 4


async def test_invalid_config_keeps_loaded_versions_serving(harness, repository):
    repository.add_version("m", 1)
    await harness.sync("m")
    (repository.root / "m" / "config.json").write_text('{"max_batch_size": -1}')
    await harness.sync("m")
    state, reason = harness.states("m")[1]
    assert state == "READY"
    assert "m/config.json: max_batch_size: -1 is less than the minimum of 0" in reason
    assert await harness.infer("m") == 1.0


async def test_invalid_config_of_a_new_model_is_reported(harness, repository):
    repository.add_version("m", 1)
    (repository.root / "m" / "config.json").write_text('{"max_batch_size": -1}')
    await harness.sync("m")
    assert harness.states("m") == {
        None: ("UNAVAILABLE", "m/config.json: max_batch_size: -1 is less than the minimum of 0")
    }
    with pytest.raises(NoVersionAvailableError):
        harness.manager.get("m")


async def test_removed_model_is_forgotten_once_drained(harness, repository):
    import shutil

    repository.add_version("m", 1)
    await harness.sync("m")
    shutil.rmtree(repository.root / "m")
    await harness.sync("m")
    await harness.drained()
    with pytest.raises(ModelNotFoundError):
        harness.manager.get("m")
    assert harness.manager.statuses() == []


async def test_concurrent_loads_of_one_model_are_serialised(harness, repository):
    repository.add_version("m", 1)
    calls = 0
    original = harness.loader.load

    async def counting_load(*args, **kwargs):
        nonlocal calls
        calls += 1
        return await original(*args, **kwargs)

    harness.loader.load = counting_load
    await asyncio.gather(*(harness.sync("m") for _ in range(5)))
    assert calls == 1
    assert harness.states("m") == {1: ("READY", "")}


async def test_set_default_pins_a_version(harness, repository):
    repository.add_version("m", 1)
    repository.add_version("m", 2)
    await harness.sync("m", AllPolicy())
    harness.manager.set_default("m", 1)
    assert await harness.infer("m") == 1.0
    with pytest.raises(VersionNotFoundError):
        harness.manager.set_default("m", 7)


async def test_scale_changes_workers_live_and_survives_reload(harness, repository):
    repository.add_version("m", 1)
    await harness.sync("m")
    harness.manager.scale("m", 1, 3)
    assert harness.manager.get("m", 1).scheduler.workers == 3
    repository.rewrite_version("m", 1, 5.0)
    await harness.sync("m")
    assert harness.manager.get("m", 1).scheduler.workers == 3


async def test_loading_state_is_visible_while_loading(harness, repository):
    repository.add_version("m", 1)
    task = asyncio.create_task(harness.sync("m"))
    seen = set()
    for _ in range(20):  # a few loop turns reach the await on the load thread
        await asyncio.sleep(0)
        seen.add(harness.states("m").get(1, ("",))[0])
    assert "LOADING" in seen
    assert harness.manager.loading or task.done()
    await task
    assert not harness.manager.loading
    assert harness.states("m") == {1: ("READY", "")}
