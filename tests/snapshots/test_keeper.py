"""The snapshot keeper on a real ModelServer: what a snapshot records of the served models, when
snapshots are written, and what a restore plan sets on a started server."""

from __future__ import annotations

import asyncio
import logging

import pytest

from repository_server.cli import build_settings
from repository_server.settings import ControlMode
from repository_server.snapshots import (
    ModelSnapshotEntry,
    SnapshotStore,
    plan_start,
    without_missing_models,
)
from repository_server.snapshots.capture import capture
from repository_server.snapshots.keeper import SnapshotKeeper
from tests.snapshots.conftest import explicit_settings, started

pytestmark = pytest.mark.anyio


async def change_runtime_config(server) -> None:
    """b scaled to 3 workers (max 5), a's version 1 pinned, a's version 2 unloaded."""
    server.manager.scale("b", 1, 3, 5)
    server.manager.set_default("a", 1)
    await server.manager.unload_version("a", 2)


def entry(**values) -> ModelSnapshotEntry:
    fields = {
        "default_version": False,
        "mar_name": "a",
        "min_workers": 1,
        "max_workers": 1,
        "batch_size": 8,  # the models' config: max_batch_size 8, no dynamic batching
        "max_batch_delay": 0,
        "response_timeout": 120,
    }
    return ModelSnapshotEntry(**{**fields, **values})


async def test_a_snapshot_records_what_serves_and_the_versions_unloaded(two_models, log_location):
    async with started(explicit_settings(two_models, "a", "b")) as server:
        await change_runtime_config(server)
        snapshot = capture(server)

    assert snapshot.settings["model_control_mode"] == "explicit"
    assert snapshot.settings["model_repository"] == str(two_models.root.absolute())
    assert snapshot.models == {
        "a": {
            1: entry(default_version=True, pinned_default=True),
            2: entry(loaded=False),
        },
        "b": {
            1: entry(
                mar_name="b",
                default_version=True,
                min_workers=3,
                max_workers=5,
                batch_size=1,  # no config: the model is not batched
            )
        },
    }


async def test_models_unloaded_whole_are_left_out(two_models, log_location):
    async with started(explicit_settings(two_models, "a", "b")) as server:
        await server.controller.unload("b")
        assert sorted(capture(server).models) == ["a"]


def kinds_and_workers(log_location) -> list[tuple[str, int]]:
    """(kind, b's worker count) of each snapshot file, oldest first."""
    store = SnapshotStore(log_location / "config")
    return [
        (path.stem.split("-")[1], store.load(path).models["b"][1].min_workers)
        for path in store.paths()
    ]


async def test_startup_then_coalesced_changes_in_order_then_shutdown(two_models, log_location):
    async with started(explicit_settings(two_models, "a", "b")) as server:
        keeper = SnapshotKeeper.for_server(server)
        server.notify_changed("before the start: not written")
        await keeper.restore_and_start()
        for workers in range(2, 6):  # a burst: one snapshot, of the newest state
            server.manager.scale("b", 1, workers)
            server.notify_changed(f"scale b to {workers}")
        await asyncio.sleep(0)  # lets that write begin: it has taken its snapshot
        server.manager.scale("b", 1, 7)
        server.notify_changed("scale b to 7, while a write is under way")
        await keeper.stop(deliberate=True)
        server.notify_changed("after the stop: not written")

    assert kinds_and_workers(log_location) == [
        ("startup", 1),
        ("snapshot", 5),
        ("snapshot", 7),
        ("shutdown", 7),
    ]


async def test_a_change_made_from_a_thread_is_written(two_models, log_location):
    async with started(explicit_settings(two_models, "a", "b")) as server:
        keeper = SnapshotKeeper.for_server(server)
        await keeper.restore_and_start()
        server.manager.scale("b", 1, 2)
        await asyncio.to_thread(server.notify_changed, "from a thread")
        await keeper.stop(deliberate=False)  # not deliberate: no shutdown snapshot

    assert kinds_and_workers(log_location) == [("startup", 1), ("snapshot", 2)]


async def test_no_config_snapshots_writes_nothing(two_models, log_location):
    settings = explicit_settings(two_models, "a", "b", no_config_snapshots=True)
    async with started(settings) as server:
        keeper = SnapshotKeeper.for_server(server)
        assert await keeper.restore_and_start() is None
        server.notify_changed("scale")
        assert await keeper.stop(deliberate=True) is None
    assert not log_location.exists()


async def write_changed_session(two_models, log_location) -> None:
    async with started(explicit_settings(two_models, "a", "b")) as server:
        keeper = SnapshotKeeper.for_server(server)
        await keeper.restore_and_start()
        await change_runtime_config(server)
        await keeper.stop(deliberate=True)


async def test_a_restored_server_serves_as_the_snapshot_had_it(two_models, log_location, caplog):
    await write_changed_session(two_models, log_location)
    plan = plan_start({"model_repository": two_models.root})
    settings = without_missing_models(build_settings(plan.command_line, plan.underlay), plan)
    assert settings.model_control_mode is ControlMode.EXPLICIT
    assert settings.load_model == ("a", "b")

    caplog.set_level(logging.INFO)
    async with started(settings) as server:
        keeper = SnapshotKeeper.for_server(server, plan)
        await keeper.restore_and_start()
        a = server.manager.record("a")
        b = server.manager.record("b")
        assert sorted(a.ready) == [1]  # version 2 loaded with its model, then unloaded again
        assert a.pinned_default == 1
        assert b.ready[1].scheduler.workers == 3
        assert server.manager.max_workers[("b", 1)] == 5
        await keeper.stop(deliberate=True)
    assert "model a: restored from" in caplog.text
    assert "version 2 unloaded; default version 1 pinned" in caplog.text
    assert "model b: restored from" in caplog.text


async def test_poll_mode_restores_workers_and_defaults_not_unloads(two_models, log_location):
    await write_changed_session(two_models, log_location)
    plan = plan_start({"model_repository": two_models.root, "model_control_mode": ControlMode.POLL})
    settings = without_missing_models(build_settings(plan.command_line, plan.underlay), plan)

    async with started(settings) as server:
        await SnapshotKeeper(server, None, plan).restore_and_start()
        a = server.manager.record("a")
        assert sorted(a.ready) == [1, 2]  # POLL mode serves what the repository holds
        assert a.default_version == 1
        assert server.manager.record("b").ready[1].scheduler.workers == 3


async def test_a_model_gone_from_the_repository_is_reported_the_rest_restored(
    two_models, log_location, caplog
):
    await write_changed_session(two_models, log_location)
    two_models.remove_model("b")
    plan = plan_start({"model_repository": two_models.root})
    settings = without_missing_models(build_settings(plan.command_line, plan.underlay), plan)
    assert settings.load_model == ("a",)  # b is not asked for: the start does not fail

    async with started(settings) as server:
        await SnapshotKeeper(server, None, plan).restore_and_start()
        assert server.manager.record("a").pinned_default == 1
        ((_, version, state, reason),) = [
            (row.model, row.version, row.state.value, row.reason)
            for row in server.manager.statuses("b")
        ]
    assert (version, state) == (None, "UNAVAILABLE")
    assert reason == f"named by config snapshot {plan.source.name} but not in the model repository"
    assert f"model b: UNAVAILABLE: {reason}" in caplog.text


async def test_a_pinned_version_that_no_longer_serves_is_reported(two_models, log_location, caplog):
    await write_changed_session(two_models, log_location)
    two_models.remove_version("a", 1)
    plan = plan_start({"model_repository": two_models.root})
    settings = build_settings(plan.command_line, plan.underlay)

    async with started(settings) as server:
        await SnapshotKeeper(server, None, plan).restore_and_start()
        a = server.manager.record("a")
        assert sorted(a.ready) == [2]  # the last version serving is never unloaded
        assert a.default_version == 2
    assert "default version 1 pinned in" in caplog.text
    assert "does not serve now" in caplog.text


def test_no_config_snapshots_plans_no_restore(two_models, log_location):
    (log_location / "config").mkdir(parents=True)
    plan = plan_start({"no_config_snapshots": True})
    assert plan.source is None
    assert not plan.restores_models
