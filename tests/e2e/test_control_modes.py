"""The three control modes, end to end: the real CLI in a subprocess follows (or does not follow)
a real repository changed with copies, renames and deletes; what is served is read over HTTP."""

from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from tests import models
from tests.e2e.client import (
    index,
    infer,
    output_of,
    ready_versions,
    repository_call,
    states,
)
from tests.models import add_model_config
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e

FAST_POLL = ("--repository-poll-secs", "0.2", "--repository-settle-secs", "0.2")


def test_poll_mode_follows_every_kind_of_change(repository, start_server):
    repository.config("a", version_policy={"all": {}})
    repository.add_version("a", 1)
    repository.add_version("a", 2)
    server = start_server(repository.root, *FAST_POLL)
    assert ready_versions(server, "a") == ["1", "2"]
    assert output_of(server, "a") == 2.0

    # A version added, as a user publishes it: a hidden copy renamed into place.
    repository.add_version("a", 3)
    wait_until(lambda: ready_versions(server, "a") == ["1", "2", "3"])
    assert output_of(server, "a") == 3.0

    # A model added.
    repository.add_version("b", 1, addend=10)
    wait_until(lambda: output_of(server, "b") == 10.0)

    # A version deleted: it stops answering, the others serve on.
    repository.remove_version("a", 1)
    wait_until(lambda: ready_versions(server, "a") == ["2", "3"])
    response = infer(server, "a", version=1)
    assert response.status_code in (404, 503), response.text

    # A version's file rewritten in place: that version reloads with the new weights.
    repository.rewrite_version("a", 3, addend=30)
    wait_until(lambda: output_of(server, "a", 3) == 30.0)
    assert output_of(server, "a", 2) == 2.0

    # config.json edited: the model reloads with it.
    repository.config("a", version_policy={"specific": {"versions": [2]}})
    wait_until(lambda: ready_versions(server, "a") == ["2"])

    # A model deleted: it disappears from the index and answers 404.
    repository.remove_model("b")
    wait_until(lambda: "b" not in {entry["name"] for entry in index(server)})
    # Once its last requests have drained, the server forgets it.
    gone = {"error": "Request for unknown model: 'b' is not found"}
    wait_until(lambda: infer(server, "b").json() == gone)
    assert infer(server, "b").status_code == 404

    # Load and unload belong to EXPLICIT mode.
    response = repository_call(server, "a", "unload")
    assert response.status_code == 503
    assert response.json() == {
        "error": "explicit model load / unload is not allowed if polling is enabled"
    }


def test_none_mode_serves_what_it_found_at_start(repository, start_server):
    repository.add_version("a", 1)
    server = start_server(repository.root, "--model-control-mode", "none", *FAST_POLL)
    assert output_of(server, "a") == 1.0
    repository.add_version("a", 2)
    repository.add_version("b", 1)
    # The index lists model folders as they are now: b shows up, never loaded.
    wait_until(lambda: {"name": "b"} in index(server))
    # Nothing follows the repository in NONE mode: for several poll intervals, a stays at 1.
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        assert states(server, "a") == {"1": ("READY", "")}
    assert output_of(server, "b") is None
    response = repository_call(server, "b", "load")
    assert response.status_code == 503
    assert "not allowed" in response.json()["error"]


def test_explicit_mode_changes_only_on_request(repository, start_server):
    repository.add_version("a", 1)
    repository.add_version("b", 1, addend=10)
    server = start_server(
        repository.root, "--model-control-mode", "explicit", "--load-model", "a", *FAST_POLL
    )
    assert output_of(server, "a") == 1.0
    assert {"name": "b"} in index(server)
    assert infer(server, "b").status_code == 404

    response = repository_call(server, "b", "load")
    assert response.status_code == 200, response.text
    assert output_of(server, "b") == 10.0

    # A new version waits for the next load request, which re-reads the folder.
    repository.add_version("a", 2)
    assert states(server, "a") == {"1": ("READY", "")}
    assert repository_call(server, "a", "load").status_code == 200
    assert output_of(server, "a") == 2.0
    assert states(server, "a")["1"] == ("UNAVAILABLE", "unloaded") or "1" not in states(server, "a")

    # A load with nothing changed is a no-op that succeeds.
    assert repository_call(server, "a", "load").status_code == 200
    assert output_of(server, "a") == 2.0

    # A config override replaces config.json for this load.
    override = json.dumps(add_model_config(max_batch_size=2))
    response = repository_call(server, "a", "load", parameters={"config": override})
    assert response.status_code == 200, response.text
    config = httpx.get(f"{server.inference_url}/v2/models/a/config", timeout=10).json()
    assert config["max_batch_size"] == 2

    response = repository_call(server, "b", "unload", parameters={"unload_dependents": False})
    assert response.status_code == 200
    wait_until(lambda: states(server, "b") == {"1": ("UNAVAILABLE", "unloaded")})
    assert infer(server, "b").status_code in (404, 503)

    response = repository_call(server, "missing", "load")
    assert response.status_code == 400
    assert response.json() == {
        "error": "failed to load 'missing', failed to poll from model repository"
    }


def test_broken_new_version_leaves_the_old_one_serving(repository, start_server):
    repository.add_version("a", 1)
    server = start_server(repository.root, *FAST_POLL)
    folder = repository.break_version("a", 2)
    assert folder.exists()
    wait_until(lambda: states(server, "a").get("2", ("", ""))[0] == "UNAVAILABLE")
    _, reason = states(server, "a")["2"]
    assert "a/2/model.onnx" in reason
    assert output_of(server, "a") == 1.0
    assert states(server, "a")["1"][0] == "READY"


def test_slow_copy_is_never_loaded_half_written(repository, start_server):
    """config.json, then (after a pause longer than the poll interval) an empty version folder,
    then its model file streamed slowly in small pieces: never loaded before it is complete."""
    server = start_server(repository.root, *FAST_POLL)
    source = repository.source(7.0).read_bytes()
    seen: list[dict[str, tuple[str, str]]] = []

    def watch_for(seconds: float) -> None:
        until = time.monotonic() + seconds
        while time.monotonic() < until:
            seen.append(states(server, "slow"))

    repository.config("slow")
    watch_for(0.5)
    folder = repository.root / "slow" / "1"
    folder.mkdir()
    watch_for(0.5)
    piece = len(source) // 20 + 1
    with (folder / "model.onnx").open("wb") as stream:
        for start in range(0, len(source), piece):
            stream.write(source[start : start + piece])
            stream.flush()
            watch_for(0.05)  # shorter than the settle time: the copy is still going
    wait_until(lambda: output_of(server, "slow") == 7.0, timeout=30)
    reasons = {reason for state in seen for _, reason in state.values() if reason}
    # Waiting states say what is missing; no load of a half-written file ever failed.
    assert not [reason for reason in reasons if "slow/1/model.onnx" in reason], reasons


def test_swaps_under_load_lose_no_request(repository, start_server):
    repository.add_version("a", 1)
    server = start_server(repository.root, *FAST_POLL)
    answers: list[float] = []
    errors: list[str] = []
    stop = threading.Event()

    def keep_calling() -> None:
        with httpx.Client() as client:
            while not stop.is_set():
                response = infer(server, "a", client=client)
                if response.status_code == 200:
                    answers.append(float(response.json()["outputs"][0]["data"][0]))
                else:
                    errors.append(f"{response.status_code} {response.text}")

    callers = [threading.Thread(target=keep_calling) for _ in range(4)]
    for caller in callers:
        caller.start()
    try:
        wait_until(lambda: len(answers) >= 20)
        repository.add_version("a", 2)
        repository.remove_version("a", 1)
        wait_until(lambda: answers[-1] == 2.0)
        repository.rewrite_version("a", 2, addend=5)
        wait_until(lambda: answers[-1] == 5.0)
        settled = len(answers)
        wait_until(lambda: len(answers) >= settled + 20)
    finally:
        stop.set()
        for caller in callers:
            caller.join()
    assert errors == []
    assert set(answers) <= {1.0, 2.0, 5.0}


def test_a_version_renamed_into_place_loads_without_waiting_to_settle(repository, start_server):
    # The settle time is far longer than the waits below: only the rename can make them load.
    # The model folder exists before the start (a folder created with its contents at once is
    # watched only after its first events, so its rename may go unseen).
    (repository.root / "a").mkdir(parents=True)
    server = start_server(
        repository.root, "--repository-poll-secs", "0", "--repository-settle-secs", "60"
    )
    # Copied to a hidden folder just now, then renamed: its files are seconds old at most.
    repository.add_version("a", 1)
    wait_until(lambda: ready_versions(server, "a") == ["1"], timeout=20)
    repository.add_version("a", 2)
    wait_until(lambda: ready_versions(server, "a") == ["2"], timeout=20)
    # A whole model folder published the same way.
    staging = repository.sources / ".b.tmp"
    models.publish_version(staging, 1, repository.source(10.0))
    staging.rename(repository.root / ".b.tmp")
    (repository.root / ".b.tmp").rename(repository.root / "b")
    wait_until(lambda: output_of(server, "b") == 10.0, timeout=20)


def test_a_load_model_name_with_no_folder_is_logged_at_start(repository, start_server):
    repository.add_version("a", 1)
    server = start_server(
        repository.root,
        "--model-control-mode",
        "explicit",
        "--load-model",
        "a",
        "--load-model",
        "nosuch",
    )
    assert ready_versions(server, "a") == ["1"]
    server.wait_for_log(
        r"WARNING .*model nosuch named at start did not load: failed to load 'nosuch', "
        "failed to poll from model repository"
    )


def test_load_and_unload_outside_explicit_mode_answer_the_mode_error_at_once(
    repository, start_server
):
    repository.add_version("a", 1)
    server = start_server(repository.root, "--model-control-mode", "none")
    for action in ("load", "unload"):
        response = repository_call(server, "a", action)
        assert response.status_code == 503
        assert response.json() == {
            "error": "explicit model load / unload is not allowed if polling is enabled"
        }
