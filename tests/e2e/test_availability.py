"""Availability end to end: a load that fails never leaves a model that served something serving
nothing; the index keeps listing what serves while the repository cannot be read; the state log
says what happened; describe's loadedAtStartup marks only what the start loaded."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from tests.e2e.client import index, infer, output_of, ready_versions, repository_call, states
from tests.e2e.server_process import ServerProcess
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e

FAST_POLL = ("--repository-poll-secs", "0.2", "--repository-settle-secs", "0.2")


def load_with_policy(server: ServerProcess, model: str, *versions: int) -> httpx.Response:
    policy = {"version_policy": {"specific": {"versions": list(versions)}}}
    return repository_call(server, model, "load", parameters={"config": json.dumps(policy)})


def state_lines(server: ServerProcess) -> list[str]:
    return [line for line in server.log.splitlines() if "repository_server.states" in line]


def loaded_at_startup(server: ServerProcess, model: str) -> bool:
    response = httpx.get(f"{server.management_url}/models/{model}", timeout=30)
    assert response.status_code == 200, response.text
    return bool(response.json()[0]["loadedAtStartup"])


def test_explicit_load_that_fails_keeps_what_served(repository, start_server):
    for version in (1, 2, 3, 4):
        repository.add_version("add", version)
    repository.break_version("add", 5)
    repository.add_version("other", 1, addend=10)
    server = start_server(
        repository.root, "--model-control-mode", "explicit", "--load-model", "add"
    )
    assert output_of(server, "add") == 4.0

    # A policy naming a missing version: 400, and version 4 serves on.
    response = load_with_policy(server, "add", 9)
    assert response.status_code == 400
    assert "at least one version must be available" in response.json()["error"]
    assert states(server, "add")["4"] == ("READY", "")
    assert states(server, "add")["9"] == ("UNAVAILABLE", "version folder not found")
    assert output_of(server, "add") == 4.0

    # A policy naming a version that fails to load: 400, and version 4 serves on.
    response = load_with_policy(server, "add", 5)
    assert response.status_code == 400
    assert "version 5 is at UNAVAILABLE state" in response.json()["error"]
    assert states(server, "add")["4"] == ("READY", "")
    assert output_of(server, "add") == 4.0

    # Partly loadable: what loaded serves, and so does what served before.
    response = load_with_policy(server, "add", 1, 5)
    assert response.status_code == 400
    assert ready_versions(server, "add") == ["1", "4"]
    assert output_of(server, "add") == 4.0

    # The failed load of a new version is logged as such, at WARNING, never LOADING -> LOADING.
    lines = state_lines(server)
    assert not [line for line in lines if "LOADING -> LOADING" in line], lines
    failed = [line for line in lines if "model add version 5: LOADING -> UNAVAILABLE (" in line]
    assert failed and all("WARNING" in line for line in failed), lines
    assert any(
        "model add version 4: no longer selected by the version policy; it serves on because "
        "the load failed"
        in line
        and "WARNING" in line
        for line in lines
    ), lines

    # loadedAtStartup: --load-model yes; a model loaded by a request no.
    assert repository_call(server, "other", "load").status_code == 200
    assert loaded_at_startup(server, "add") is True
    assert loaded_at_startup(server, "other") is False


def test_poll_policy_change_that_cannot_load_keeps_what_served(repository, start_server):
    repository.add_version("add", 8)
    server = start_server(repository.root, *FAST_POLL)
    assert output_of(server, "add") == 8.0

    repository.config("add", version_policy={"specific": {"versions": [42]}})
    wait_until(lambda: "42" in states(server, "add"))
    assert states(server, "add") == {
        "8": ("READY", ""),
        "42": ("UNAVAILABLE", "version folder not found"),
    }
    assert output_of(server, "add") == 8.0

    repository.break_version("add", 12)
    repository.config("add", version_policy={"specific": {"versions": [12]}})
    wait_until(lambda: states(server, "add").get("12", ("",))[0] == "UNAVAILABLE")
    assert states(server, "add")["8"] == ("READY", "")
    assert output_of(server, "add") == 8.0

    # Fixed: version 12 takes over, version 8 retires.
    repository.rewrite_version("add", 12, 12.0)
    wait_until(lambda: output_of(server, "add") == 12.0)
    wait_until(lambda: states(server, "add").get("8") == ("UNAVAILABLE", "unloaded"))
    lines = state_lines(server)
    assert any(
        "model add version 8: READY -> UNLOADING (no longer selected by the version policy)" in line
        for line in lines
    ), lines

    # A model added later by polling was not loaded at startup.
    repository.add_version("late", 1)
    wait_until(lambda: output_of(server, "late") == 1.0)
    assert loaded_at_startup(server, "add") is True
    assert loaded_at_startup(server, "late") is False


def test_reload_and_removal_log_lines_say_what_happened(repository, start_server):
    repository.config("m", version_policy={"all": {}})
    repository.add_version("m", 1)
    repository.add_version("m", 2)
    server = start_server(repository.root, *FAST_POLL)

    repository.rewrite_version("m", 2, 20.0)
    wait_until(lambda: output_of(server, "m", 2) == 20.0)
    server.wait_for_log(r"model m version 2 \(old copy\): UNLOADING -> UNAVAILABLE \(unloaded\)")
    server.wait_for_log(r"model m version 2 \(new copy\): LOADING -> READY in ")
    server.wait_for_log(
        r"model m version 2 \(old copy\): READY -> UNLOADING \(replaced by the new copy\)"
    )

    repository.break_version("m", 2)
    line = server.wait_for_log(r".*model m version 2 \(new copy\): LOADING -> UNAVAILABLE.*")
    assert "WARNING" in line.group(0)
    assert "the serving copy stays READY" in line.group(0)
    assert output_of(server, "m", 2) == 20.0

    repository.remove_version("m", 1)
    server.wait_for_log(r"model m version 1: READY -> UNLOADING \(version folder removed\)")
    assert not re.search(r"version 1: no longer selected", server.log)


def test_index_keeps_listing_what_serves_while_the_repository_is_gone(
    repository, start_server, tmp_path
):
    repository.add_version("a", 1)
    repository.add_version("b", 2)
    # Events only: nothing polls, so only the watch on the repository itself can notice.
    server = start_server(repository.root, "--repository-poll-secs", "0")
    before = index(server)
    assert [entry["name"] for entry in before] == ["a", "b"]

    moved = tmp_path / "moved"
    repository.root.rename(moved)
    server.wait_for_log("cannot read the model repository")
    assert index(server) == before
    assert index(server, ready=True) == before
    assert output_of(server, "a") == 1.0
    assert infer(server, "b").status_code == 200

    moved.rename(repository.root)
    server.wait_for_log("can be read again")
    assert server.log.count("cannot read the model repository") == 1
    assert index(server) == before
