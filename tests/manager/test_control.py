"""The control modes in-process, on a real repository with the real watcher."""

from __future__ import annotations

import shutil

import pytest

from repository_server.errors import ControlModeError, LoadFailedError, ModelNotFoundError
from repository_server.repository import parse_config
from repository_server.settings import ControlMode
from tests.manager.conftest import controller, eventually

pytestmark = pytest.mark.anyio


async def test_none_mode_loads_everything_and_ignores_changes(harness, repository):
    repository.add_version("a", 1)
    repository.add_version("b", 1)
    control = controller(harness, ControlMode.NONE)
    report = await control.start()
    assert report.failures == {}
    assert control.ready
    repository.add_version("a", 2)
    assert await harness.infer("a") == 1.0
    with pytest.raises(ControlModeError, match="explicit model load / unload is not allowed"):
        await control.load("a")
    with pytest.raises(ControlModeError):
        await control.unload("a")
    await control.stop()


async def test_poll_mode_follows_the_repository(harness, repository):
    repository.add_version("a", 1)
    control = controller(harness, ControlMode.POLL, poll_secs=0.2, settle_secs=0.05)
    await control.start()
    assert await harness.infer("a") == 1.0
    try:
        # A version added atomically.
        repository.add_version("a", 2)
        await eventually(lambda: harness.states("a").get(2) == ("READY", ""))
        assert await harness.infer("a") == 2.0
        # A model added.
        repository.add_version("b", 1, addend=7)
        await eventually(lambda: harness.states("b").get(1) == ("READY", ""))
        assert await harness.infer("b") == 7.0
        # A version's file rewritten in place.
        repository.rewrite_version("a", 2, 20.0)
        await harness.wait_for_output("a", 20.0)
        # A version deleted: the previous one serves again (latest 1).
        repository.remove_version("a", 2)
        await eventually(lambda: harness.states("a").get(1) == ("READY", ""))
        # Version 2 serves until version 1 is READY, then retires.
        await harness.wait_for_output("a", 1.0)
        # A model deleted.
        shutil.rmtree(repository.root / "b")
        await eventually(lambda: "b" not in harness.manager.model_names())
        with pytest.raises(ModelNotFoundError):
            harness.manager.get("b")
        # config.json edited: the policy now serves two versions.
        repository.add_version("a", 3)
        repository.config("a", version_policy={"latest": {"num_versions": 2}})
        await eventually(
            lambda: {v for v, s in harness.states("a").items() if s[0] == "READY"} == {1, 3}
        )
    finally:
        await control.stop()


async def test_explicit_mode_loads_only_what_it_is_told(harness, repository):
    repository.add_version("a", 1)
    repository.add_version("b", 1)
    control = controller(harness, ControlMode.EXPLICIT, load_models=["a"])
    await control.start()
    assert harness.manager.model_names() == ["a"]
    assert control.index() == [
        {"name": "a", "version": "1", "state": "READY"},
        {"name": "b"},
    ]
    await control.load("b")
    assert await harness.infer("b") == 1.0
    # Changes on disk are not followed until the next load request.
    repository.add_version("b", 2)
    assert await harness.infer("b") == 1.0
    await control.load("b")
    assert await harness.infer("b") == 2.0
    served = harness.manager.get("b")
    await control.load("b")  # nothing changed: a no-op
    assert harness.manager.get("b") is served
    await control.unload("b")
    await harness.drained()
    assert harness.states("b") == {1: ("UNAVAILABLE", "unloaded"), 2: ("UNAVAILABLE", "unloaded")}
    assert control.index(ready_only=True) == [{"name": "a", "version": "1", "state": "READY"}]
    await control.stop()


async def test_explicit_load_errors_name_the_problem(harness, repository):
    repository.add_version("a", 1)
    repository.break_version("bad", 1)
    control = controller(harness, ControlMode.EXPLICIT)
    await control.start()
    with pytest.raises(
        LoadFailedError, match="failed to load 'missing', failed to poll from model repository"
    ):
        await control.load("missing")
    with pytest.raises(LoadFailedError) as raised:
        await control.load("bad")
    assert raised.value.message.startswith(
        "load failed for model 'bad': version 1 is at UNAVAILABLE state: bad/1/model.onnx: "
    )
    await control.stop()


async def test_explicit_load_with_config_override(harness, repository):
    repository.add_version("a", 1)
    repository.add_version("a", 2)
    control = controller(harness, ControlMode.EXPLICIT)
    await control.start()
    override = parse_config('{"version_policy": {"all": {}}}', "a")
    await control.load("a", override)
    assert {v for v, s in harness.states("a").items() if s[0] == "READY"} == {1, 2}
    await control.load("a")  # back to the repository's config: latest 1
    await harness.drained()
    assert harness.states("a")[1] == ("UNAVAILABLE", "unloaded")
    await control.stop()


async def test_wildcard_loads_every_model(harness, repository):
    repository.add_version("a", 1)
    repository.add_version("b", 1)
    control = controller(harness, ControlMode.EXPLICIT, load_models=["*"])
    await control.start()
    assert harness.manager.model_names() == ["a", "b"]
    await control.stop()


async def test_startup_failures_are_reported(harness, repository):
    repository.add_version("good", 1)
    repository.break_version("bad", 1)
    control = controller(harness, ControlMode.NONE)
    report = await control.start()
    assert list(report.failures) == ["bad"]
    assert report.failures["bad"].startswith("bad/1/model.onnx: ")
    assert control.ready  # failed for good does not block readiness
    await control.stop()


async def test_poll_never_loads_a_half_copied_version(harness, repository, tmp_path):
    repository.add_version("a", 1)
    control = controller(harness, ControlMode.POLL, poll_secs=0.05, settle_secs=0.3)
    await control.start()
    try:
        # An OpenVINO-style pair written one file at a time, with a long pause in between:
        # the folder holds model.onnx partially written first.
        target = repository.root / "a" / "2"
        target.mkdir()
        source = repository.source(2.0).read_bytes()
        with (target / "model.onnx").open("wb") as handle:
            handle.write(source[: len(source) // 2])
            handle.flush()
            scans = control.scan_count
            # Several rescans see the half-written file, and none loads it.
            await eventually(lambda: control.scan_count >= scans + 5)
            assert harness.states("a").get(2) is None, harness.states("a")
            handle.write(source[len(source) // 2 :])
        await eventually(lambda: harness.states("a").get(2) == ("READY", ""))
        assert await harness.infer("a") == 2.0
    finally:
        await control.stop()
