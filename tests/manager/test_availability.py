"""Availability: a failed or impossible load never leaves a model that served something serving
nothing; an unreadable repository keeps the index listing what serves."""

from __future__ import annotations

import json
import logging
import shutil

import pytest

from repository_server.errors import LoadFailedError
from repository_server.repository import LatestPolicy, SpecificPolicy, parse_config
from repository_server.settings import ControlMode
from tests.manager.conftest import controller, eventually

pytestmark = pytest.mark.anyio


def ready(harness, name: str) -> set[int | None]:
    return {version for version, (state, _) in harness.states(name).items() if state == "READY"}


def specific(*versions: int) -> str:
    return json.dumps({"version_policy": {"specific": {"versions": list(versions)}}})


async def test_policy_naming_a_missing_version_keeps_the_serving_one(harness, repository):
    repository.add_version("m", 1)
    repository.add_version("m", 3)
    await harness.sync("m")
    await harness.sync("m", SpecificPolicy(frozenset({9})))
    await harness.drained()
    assert harness.states("m") == {
        3: ("READY", ""),
        9: ("UNAVAILABLE", "version folder not found"),
    }
    assert await harness.infer("m") == 3.0
    # Once a version the policy selects is READY, the old one retires.
    repository.add_version("m", 9)
    await harness.sync("m", SpecificPolicy(frozenset({9})))
    await harness.drained()
    assert harness.states("m") == {3: ("UNAVAILABLE", "unloaded"), 9: ("READY", "")}


async def test_policy_naming_a_broken_version_keeps_the_serving_one(harness, repository):
    repository.add_version("m", 4)
    await harness.sync("m")
    repository.break_version("m", 5)
    failures = await harness.sync("m", SpecificPolicy(frozenset({5})))
    assert list(failures) == [5]
    await harness.drained()
    assert ready(harness, "m") == {4}
    assert harness.states("m")[5][1].startswith("m/5/model.onnx: ")
    assert await harness.infer("m") == 4.0
    # Rescans with nothing changed keep it so.
    assert await harness.sync("m", SpecificPolicy(frozenset({5}))) == {}
    assert await harness.infer("m") == 4.0
    # Fixed: version 5 takes over and version 4 retires.
    repository.rewrite_version("m", 5, 5.0)
    assert await harness.sync("m", SpecificPolicy(frozenset({5}))) == {}
    await harness.drained()
    assert harness.states("m") == {4: ("UNAVAILABLE", "unloaded"), 5: ("READY", "")}


async def test_explicit_load_that_fails_leaves_what_served_serving(harness, repository, caplog):
    caplog.set_level(logging.INFO, "repository_server.states")
    for version in (1, 2, 3, 4):
        repository.add_version("m", version)
    repository.break_version("m", 5)
    control = controller(harness, ControlMode.EXPLICIT, load_models=["m"])
    await control.start()
    assert ready(harness, "m") == {4}
    # A missing version: 400, version 4 serves on.
    with pytest.raises(LoadFailedError, match="at least one version must be available"):
        await control.load("m", parse_config(specific(9), "m"))
    await harness.drained()
    assert ready(harness, "m") == {4}
    assert harness.states("m")[9] == ("UNAVAILABLE", "version folder not found")
    # A broken version: 400, version 4 serves on.
    with pytest.raises(LoadFailedError, match="version 5 is at UNAVAILABLE state"):
        await control.load("m", parse_config(specific(5), "m"))
    await harness.drained()
    assert ready(harness, "m") == {4}
    assert await harness.infer("m") == 4.0
    # Partly loadable: what loaded stays (our README), and so does what served.
    with pytest.raises(LoadFailedError, match="version 5 is at UNAVAILABLE state"):
        await control.load("m", parse_config(specific(1, 5), "m"))
    await harness.drained()
    assert ready(harness, "m") == {1, 4}
    assert await harness.infer("m") == 4.0
    assert (
        "WARNING",
        "model m version 4: no longer selected by the version policy; it serves on because the "
        "load failed (version 5 failed to load)",
    ) in state_lines(caplog)
    # A load that succeeds applies the policy: what it does not select retires.
    await control.load("m", parse_config(specific(1), "m"))
    await harness.drained()
    assert ready(harness, "m") == {1}
    await control.stop()


async def test_poll_policy_change_to_a_missing_version_keeps_serving(harness, repository):
    repository.add_version("m", 8)
    control = controller(harness, ControlMode.POLL, poll_secs=0.05, settle_secs=0.05)
    await control.start()
    try:
        repository.config("m", version_policy={"specific": {"versions": [42]}})
        await eventually(lambda: 42 in harness.states("m"))
        scans = control.scan_count
        await eventually(lambda: control.scan_count >= scans + 3)
        assert ready(harness, "m") == {8}
        assert await harness.infer("m") == 8.0
    finally:
        await control.stop()


async def test_removed_version_still_falls_back_when_another_is_selected(harness, repository):
    repository.add_version("m", 1)
    repository.add_version("m", 2)
    await harness.sync("m", LatestPolicy(1))
    repository.remove_version("m", 2)
    await harness.sync("m", LatestPolicy(1))
    await harness.drained()
    assert harness.states("m") == {1: ("READY", ""), 2: ("UNAVAILABLE", "unloaded")}


# -- state log lines ------------------------------------------------------------------------


def state_lines(caplog) -> list[tuple[str, str]]:
    return [
        (record.levelname, record.getMessage())
        for record in caplog.records
        if record.name == "repository_server.states"
    ]


async def test_failed_load_of_a_new_version_logs_unavailable_at_warning(
    harness, repository, caplog
):
    caplog.set_level(logging.INFO, "repository_server.states")
    repository.break_version("m", 1)
    await harness.sync("m")
    lines = state_lines(caplog)
    assert lines[0] == ("INFO", "model m version 1: UNAVAILABLE -> LOADING")
    level, message = lines[1]
    assert level == "WARNING"
    assert message.startswith("model m version 1: LOADING -> UNAVAILABLE (m/1/model.onnx: ")
    assert len(lines) == 2


async def test_reload_log_lines_say_which_copy(harness, repository, caplog):
    caplog.set_level(logging.INFO, "repository_server.states")
    repository.add_version("m", 1)
    await harness.sync("m")
    caplog.clear()
    # A successful reload: the new copy is READY, the old copy unloads.
    repository.rewrite_version("m", 1, 10.0)
    await harness.sync("m")
    await harness.drained()
    messages = [message for _, message in state_lines(caplog)]
    assert messages[0] == "model m version 1: loading a new copy beside the serving one"
    assert messages[1].startswith("model m version 1 (new copy): LOADING -> READY in ")
    assert messages[2:] == [
        "model m version 1 (old copy): READY -> UNLOADING (replaced by the new copy)",
        "model m version 1 (old copy): UNLOADING -> UNAVAILABLE (unloaded)",
    ]
    caplog.clear()
    # A failed reload: the new copy failed, the old keeps serving.
    repository.break_version("m", 1)
    await harness.sync("m")
    (_, (level, message)) = state_lines(caplog)
    assert level == "WARNING"
    assert message.startswith(
        "model m version 1 (new copy): LOADING -> UNAVAILABLE; the serving copy stays READY "
        "(m/1/model.onnx: "
    )
    caplog.clear()
    # Superseded by a new version: unloaded, and the old copy's failure is no longer its reason.
    repository.add_version("m", 2)
    await harness.sync("m")
    await harness.drained()
    assert harness.states("m") == {1: ("UNAVAILABLE", "unloaded"), 2: ("READY", "")}
    assert (
        "INFO",
        "model m version 1: READY -> UNLOADING (no longer selected by the version policy)",
    ) in state_lines(caplog)
    assert ("INFO", "model m version 1: UNLOADING -> UNAVAILABLE (unloaded)") in state_lines(caplog)


async def test_removed_version_is_logged_as_removed(harness, repository, caplog):
    caplog.set_level(logging.INFO, "repository_server.states")
    repository.add_version("m", 1)
    repository.add_version("m", 2)
    await harness.sync("m", LatestPolicy(2))
    caplog.clear()
    repository.remove_version("m", 1)
    await harness.sync("m", LatestPolicy(2))
    messages = [message for _, message in state_lines(caplog)]
    assert messages == ["model m version 1: READY -> UNLOADING (version folder removed)"]


async def test_kept_version_is_logged_once_with_why(harness, repository, caplog):
    caplog.set_level(logging.INFO, "repository_server.states")
    repository.add_version("m", 3)
    await harness.sync("m")
    caplog.clear()
    for _ in range(3):  # every rescan applies again: one line only
        await harness.sync("m", SpecificPolicy(frozenset({9})))
    assert state_lines(caplog) == [
        (
            "WARNING",
            "model m version 3: no longer selected by the version policy; it serves on because "
            "no selected version is READY (version 9: version folder not found)",
        )
    ]


async def test_removed_version_bridging_a_settling_copy_is_logged_as_removed(
    harness, repository, caplog
):
    from repository_server.manager import desire

    caplog.set_level(logging.INFO, "repository_server.states")
    repository.add_version("m", 1)
    await harness.sync("m")
    repository.add_version("m", 2)
    repository.remove_version("m", 1)
    entry = harness.scanner.scan_model("m")
    desired = desire(
        entry, default_policy=LatestPolicy(1), is_settled=lambda version: version.version != 2
    )
    caplog.clear()
    await harness.manager.apply("m", desired)
    assert ready(harness, "m") == {1}
    assert state_lines(caplog) == [
        ("INFO", "model m version 1: version folder removed; it serves on until version 2 is READY")
    ]


# -- loadedAtStartup ------------------------------------------------------------------------


async def test_poll_marks_only_the_models_found_at_start(harness, repository):
    repository.add_version("a", 1)
    repository.add_version("r", 1)
    control = controller(harness, ControlMode.POLL, poll_secs=0.05, settle_secs=0.05)
    control.restored_models = {"r"}
    await control.start()
    try:
        repository.add_version("b", 1)
        await eventually(lambda: harness.states("b").get(1) == ("READY", ""))
        marks = {name: harness.manager.record(name).loaded_at_startup for name in "abr"}
        assert marks == {"a": True, "b": False, "r": False}
        # Removed and added again: loaded later.
        repository.remove_model("a")
        await eventually(lambda: "a" not in harness.manager.model_names())
        repository.add_version("a", 1)
        await eventually(lambda: harness.states("a").get(1) == ("READY", ""))
        assert harness.manager.record("a").loaded_at_startup is False
    finally:
        await control.stop()


async def test_explicit_marks_only_the_load_model_ones(harness, repository):
    for name in ("a", "b", "r"):
        repository.add_version(name, 1)
    control = controller(harness, ControlMode.EXPLICIT, load_models=["a", "r"])
    control.restored_models = {"r"}
    await control.start()
    await control.load("b")
    marks = {name: harness.manager.record(name).loaded_at_startup for name in "abr"}
    assert marks == {"a": True, "b": False, "r": False}
    await control.load("a")  # a reload of what loaded at start: still loaded at start
    assert harness.manager.record("a").loaded_at_startup is True
    await control.unload("a")
    await control.load("a")  # unloaded, then loaded by a request
    assert harness.manager.record("a").loaded_at_startup is False
    await control.stop()


# -- an unreadable repository ---------------------------------------------------------------


async def test_index_lists_what_serves_while_the_repository_is_unreadable(
    harness, repository, caplog
):
    repository.add_version("a", 1)
    repository.add_version("b", 1)
    control = controller(harness, ControlMode.POLL, poll_secs=0.05, settle_secs=0.05)
    await control.start()
    try:
        before = control.index()
        assert [entry["name"] for entry in before] == ["a", "b"]
        caplog.set_level(logging.INFO, "repository_server.manager.control")
        moved = repository.root.with_name("moved")
        repository.root.rename(moved)
        scans = control.scan_count
        await eventually(lambda: control.scan_count >= scans + 5)
        assert control.index() == before
        assert control.index(ready_only=True) == before
        assert await harness.infer("a") == 1.0
        errors = [r for r in caplog.records if r.levelname == "ERROR"]
        assert len(errors) == 1, [r.getMessage() for r in errors]
        assert "cannot read the model repository" in errors[0].getMessage()
        assert errors[0].getMessage().endswith("the loaded models keep serving")
        moved.rename(repository.root)
        await eventually(lambda: any("can be read again" in r.getMessage() for r in caplog.records))
        # Read again: a model removed meanwhile leaves as usual.
        shutil.rmtree(repository.root / "b")
        await eventually(lambda: [e["name"] for e in control.index()] == ["a"])
    finally:
        await control.stop()


async def test_events_only_repository_moved_away_is_logged_once(harness, repository, caplog):
    """With polling off, file events are all there is: moving the repository itself away (which
    the repository's own watch does not report) is noticed and logged, and so is its return."""
    repository.add_version("a", 1)
    control = controller(harness, ControlMode.POLL, poll_secs=0, settle_secs=0.05)
    await control.start()
    try:
        caplog.set_level(logging.INFO, "repository_server.manager.control")
        moved = repository.root.with_name("moved")
        repository.root.rename(moved)

        def errors() -> list[str]:
            return [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]

        await eventually(errors)
        assert "cannot read the model repository" in errors()[0]
        assert [e["name"] for e in control.index()] == ["a"]
        assert await harness.infer("a") == 1.0
        moved.rename(repository.root)
        await eventually(lambda: any("can be read again" in r.getMessage() for r in caplog.records))
        assert len(errors()) == 1
    finally:
        await control.stop()
