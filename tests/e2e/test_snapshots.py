"""Config snapshots end to end (issue 7): the real CLI in a subprocess is changed through its
management API, stopped (SIGTERM or SIGKILL) and started again, and comes back as it was.

Snapshots land in `{LOG_LOCATION}/config`; every start of a test shares the test's LOG_LOCATION,
as restarts of one deployment do."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.client import output_of, ready_versions, repository_call, states
from tests.e2e.server_process import ServerProcess
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e

EXPLICIT = ("--model-control-mode", "explicit")


def snapshot_files(log_location: Path, kind: str = "") -> list[str]:
    """The snapshot file names of one kind (all kinds: ""), oldest first."""
    folder = log_location / "config"
    if not folder.is_dir():
        return []
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(f"{kind}.cfg"))


def management(server: ServerProcess, method: str, path: str) -> Any:
    response = httpx.request(method, f"{server.management_url}{path}", timeout=120)
    assert response.status_code == 200, response.text
    return response.json()


def served_state(server: ServerProcess) -> dict[str, Any]:
    """What a user sees of models a and b: READY versions, default answers, workers."""
    return {
        "a versions": ready_versions(server, "a"),
        "a answers": output_of(server, "a"),
        "b versions": ready_versions(server, "b"),
        "b answers": output_of(server, "b"),
        "workers": {
            f"{entry['modelName']} {entry['modelVersion']}": len(entry["workers"])
            for name in ("a", "b")
            for entry in management(server, "GET", f"/models/{name}/all")
        },
    }


def repository_with_two_models(repository) -> None:
    """a: versions 1 and 2, both served (answer 1 and 2); b: version 1 (answers 10)."""
    repository.config("a", version_policy={"all": {}})
    repository.add_version("a", 1)
    repository.add_version("a", 2)
    repository.add_version("b", 1, addend=10)


EXPECTED = {
    "a versions": ["1", "2"],
    "a answers": 1.0,  # version 1 pinned as the default
    "b versions": ["1"],
    "b answers": 10.0,
    "workers": {"a 1": 1, "a 2": 1, "b 1": 3},
}


def change_runtime_config(server: ServerProcess, log_location: Path) -> None:
    """Register a and b, scale b to 3 workers, pin a's version 1: each change is snapshotted."""
    written = len(snapshot_files(log_location, "snapshot"))
    for call in (
        ("POST", "/models?url=a&synchronous=true"),
        ("POST", "/models?url=b&synchronous=true"),
        ("PUT", "/models/b?min_worker=3&max_worker=3&synchronous=true"),
        ("PUT", "/models/a/1/set-default"),
    ):
        management(server, *call)
        written += 1
        wait_for_snapshots(log_location, written)
    assert served_state(server) == EXPECTED


def wait_for_snapshots(log_location: Path, count: int) -> None:
    wait_until(
        lambda: len(snapshot_files(log_location, "snapshot")) >= count,
        message=f"{count} -snapshot.cfg files",
    )


def test_sigterm_then_a_start_without_flags_serves_the_same(repository, start_server, tmp_path):
    repository_with_two_models(repository)
    logs = tmp_path / "logs"
    first = start_server(repository.root, *EXPLICIT)
    assert snapshot_files(logs, "startup")
    change_runtime_config(first, logs)

    assert first.stop(signal.SIGTERM) == 0
    assert len(snapshot_files(logs, "shutdown")) == 1

    again = start_server(repository.root)  # no flags but the repository (and ports 0)
    assert served_state(again) == EXPECTED
    shutdown = snapshot_files(logs, "shutdown")[0]
    again.wait_for_log(f"restoring config snapshot .*{shutdown}")
    # The log names what came from the snapshot.
    again.wait_for_log(f"settings from {shutdown}.*model_control_mode=explicit")
    again.wait_for_log(r"model b: restored from .*version 1 3 workers")
    again.wait_for_log(r"model a: restored from .*default version 1 pinned")


def test_sigkill_then_the_last_snapshot_restores_the_same(repository, start_server, tmp_path):
    repository_with_two_models(repository)
    logs = tmp_path / "logs"
    first = start_server(repository.root, *EXPLICIT)
    change_runtime_config(first, logs)

    first.stop(signal.SIGKILL)
    assert snapshot_files(logs, "shutdown") == []
    newest = snapshot_files(logs)[-1]
    assert newest.endswith("-snapshot.cfg")

    again = start_server(repository.root, "--load-model", "b")
    assert served_state(again) == EXPECTED
    again.wait_for_log(f"restoring config snapshot .*{newest}")
    again.wait_for_log("--load-model ignored")


def test_ts_config_restores_the_older_snapshot_it_names(repository, start_server, tmp_path):
    repository_with_two_models(repository)
    logs = tmp_path / "logs"
    first = start_server(repository.root, *EXPLICIT)
    assert repository_call(first, "a", "load").status_code == 200
    wait_for_snapshots(logs, 1)
    (only_a,) = snapshot_files(logs, "snapshot")
    assert repository_call(first, "b", "load").status_code == 200
    wait_for_snapshots(logs, 2)
    assert first.stop() == 0

    older = logs / "config" / only_a
    again = start_server(repository.root, "--ts-config", str(older))
    assert ready_versions(again, "a") == ["1", "2"]
    assert ready_versions(again, "b") == []
    again.wait_for_log(f"restoring --ts-config {older}")


def test_no_config_snapshots_writes_none_and_restores_none(repository, start_server, tmp_path):
    repository_with_two_models(repository)
    logs = tmp_path / "logs"
    first = start_server(repository.root, *EXPLICIT)
    assert repository_call(first, "a", "load").status_code == 200
    assert first.stop() == 0
    written = snapshot_files(logs)
    assert written  # a snapshot to be ignored

    again = start_server(repository.root, *EXPLICIT, "--ncs")
    assert ready_versions(again, "a") == []  # nothing restored
    assert repository_call(again, "b", "load").status_code == 200
    assert again.stop() == 0
    assert snapshot_files(logs) == written  # nothing written
    assert "config snapshots are off" in again.log


def test_a_truncated_newest_snapshot_falls_back_to_the_previous(repository, start_server, tmp_path):
    repository_with_two_models(repository)
    logs = tmp_path / "logs"
    first = start_server(repository.root, *EXPLICIT)
    assert repository_call(first, "a", "load").status_code == 200
    wait_for_snapshots(logs, 1)
    assert repository_call(first, "b", "load").status_code == 200
    wait_for_snapshots(logs, 2)
    first.stop(signal.SIGKILL)
    *_, only_a, newest_name = snapshot_files(logs)
    newest = logs / "config" / newest_name
    text = newest.read_bytes()
    # What a crash mid-write would leave without the atomic rename the server uses.
    newest.write_bytes(text[: len(text) // 2])

    again = start_server(repository.root)
    again.wait_for_log(f"WARNING .*skipping config snapshot {newest.name}: .*truncated")
    again.wait_for_log(f"restoring config snapshot .*{only_a}")
    assert ready_versions(again, "a") == ["1", "2"]
    assert ready_versions(again, "b") == []


def test_a_snapshot_naming_a_deleted_model_restores_the_others(repository, start_server, tmp_path):
    repository_with_two_models(repository)
    first = start_server(repository.root, *EXPLICIT)
    for name in ("a", "b"):
        assert repository_call(first, name, "load").status_code == 200
    assert first.stop() == 0
    repository.remove_model("b")

    again = start_server(repository.root, "--exit-on-error")
    assert ready_versions(again, "a") == ["1", "2"]
    assert output_of(again, "b") is None
    described = management(again, "GET", "/models/b")
    assert [(entry["state"], entry["reason"]) for entry in described] == [
        (
            "UNAVAILABLE",
            f"named by config snapshot {snapshot_files(tmp_path / 'logs', 'shutdown')[0]} "
            "but not in the model repository",
        )
    ]
    assert states(again, "a") == {"1": ("READY", ""), "2": ("READY", "")}
    again.wait_for_log("model b: UNAVAILABLE: named by config snapshot")


def registered_knobs(server: ServerProcess, name: str) -> dict[str, Any]:
    described = management(server, "GET", f"/models/{name}")[0]
    return {key: described[key] for key in ("batchSize", "maxBatchDelay", "responseTimeout")}


def test_a_registration_s_batching_and_timeout_survive_a_restart(
    repository, start_server, tmp_path
):
    # The registration changes the config of its load only: after a restart only the snapshot
    # knows batch_size 4, max_batch_delay 20 and response_timeout 7.
    repository.config("c", max_batch_size=8)
    repository.add_version("c", 1, addend=5)
    logs = tmp_path / "logs"
    first = start_server(repository.root, *EXPLICIT)
    management(
        first,
        "POST",
        "/models?url=c&batch_size=4&max_batch_delay=20&response_timeout=7&synchronous=true",
    )
    registered = {"batchSize": 4, "maxBatchDelay": 20, "responseTimeout": 7}
    assert registered_knobs(first, "c") == registered
    assert first.stop(signal.SIGTERM) == 0
    shutdown = logs / "config" / snapshot_files(logs, "shutdown")[0]
    assert '"configOverride": true' in shutdown.read_text()

    again = start_server(repository.root)
    assert registered_knobs(again, "c") == registered
    assert output_of(again, "c") == 5.0
    again.wait_for_log(
        r"model c: restored from .*shutdown.cfg: batchSize 4, maxBatchDelay 20, responseTimeout 7"
    )
    # Without a snapshot the model's own config applies again.
    third = start_server(repository.root, *EXPLICIT, "--load-model", "c", "--ncs")
    assert registered_knobs(third, "c") == {
        "batchSize": 8,
        "maxBatchDelay": 0,
        "responseTimeout": 120,
    }


def test_a_registration_s_handler_and_runtime_survive_a_restart(repository, start_server, tmp_path):
    repository.config("h", max_batch_size=8)
    repository.add_version("h", 1)
    logs = tmp_path / "logs"
    first = start_server(repository.root, *EXPLICIT)
    management(first, "POST", "/models?url=h&handler=my_handler:handle&runtime=python")
    described = management(first, "GET", "/models/h")[0]
    assert (described["handler"], described["runtime"]) == ("my_handler:handle", "python")
    assert first.stop(signal.SIGTERM) == 0
    shutdown = (logs / "config" / snapshot_files(logs, "shutdown")[0]).read_text()
    assert '"handler": "my_handler:handle"' in shutdown

    again = start_server(repository.root)
    described = management(again, "GET", "/models/h")[0]
    assert (described["handler"], described["runtime"]) == ("my_handler:handle", "python")
    assert described["loadedAtStartup"] is False


def test_models_a_snapshot_brings_back_were_not_loaded_at_startup(
    repository, start_server, tmp_path
):
    repository.add_version("s", 1)
    first = start_server(repository.root, *EXPLICIT, "--load-model", "s")
    assert management(first, "GET", "/models/s")[0]["loadedAtStartup"] is True
    assert first.stop(signal.SIGTERM) == 0

    again = start_server(repository.root)
    assert ready_versions(again, "s") == ["1"]
    assert management(again, "GET", "/models/s")[0]["loadedAtStartup"] is False


def stopped_with_b_moved_aside(repository, start_server, tmp_path) -> tuple[Path, Path]:
    """Registers a and b and changes them, stops with SIGTERM, then moves b's folder away (as
    a volume not mounted yet). Returns the log location and where b's folder is now."""
    repository_with_two_models(repository)
    logs = tmp_path / "logs"
    first = start_server(repository.root, *EXPLICIT)
    change_runtime_config(first, logs)
    assert first.stop(signal.SIGTERM) == 0
    aside = tmp_path / "b-aside"
    (repository.root / "b").rename(aside)
    return logs, aside


def test_a_start_with_a_model_folder_missing_forgets_nothing(repository, start_server, tmp_path):
    # A volume not mounted yet at one start must not wipe the model from the next restore.
    _, aside = stopped_with_b_moved_aside(repository, start_server, tmp_path)

    without_b = start_server(repository.root)
    assert output_of(without_b, "b") is None
    without_b.wait_for_log("model b serves nothing now: its snapshot entries are kept")
    assert without_b.stop(signal.SIGTERM) == 0
    aside.rename(repository.root / "b")

    again = start_server(repository.root)
    assert served_state(again) == EXPECTED


def test_an_unregistered_model_is_carried_no_more(repository, start_server, tmp_path):
    logs, aside = stopped_with_b_moved_aside(repository, start_server, tmp_path)

    without_b = start_server(repository.root)
    written = len(snapshot_files(logs, "snapshot"))
    management(without_b, "DELETE", "/models/b")
    wait_for_snapshots(logs, written + 1)
    assert without_b.stop(signal.SIGTERM) == 0
    aside.rename(repository.root / "b")

    again = start_server(repository.root)
    assert ready_versions(again, "a") == ["1", "2"]
    assert output_of(again, "b") is None
