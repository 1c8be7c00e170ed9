"""A registration that fails leaves nothing behind, as TorchServe unregisters a model whose
workers fail: describe and list do not know it, `/ping` stays Healthy, a folder unpacked for it
is removed, and it can be registered again. A folder that was in the repository stays."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import models
from tests.management.conftest import Deployment, TorchServe, error_of, torchserve_body
from tests.sources.archive_files import make_archive
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e


def add_broken_model(repository: Path, name: str) -> Path:
    """A model whose version 1 cannot load; /ping would turn Unhealthy at once while it failed
    (max_retry_timeout_secs 0)."""
    folder = repository / name
    (folder / "1").mkdir(parents=True)
    (folder / "1" / "model.onnx").write_bytes(b"not an onnx model")
    document = models.add_model_config(parameters={"max_retry_timeout_secs": "0"})
    models.write_config(folder, document)
    return folder


def assert_unknown(ts: TorchServe, name: str) -> None:
    assert error_of(ts.management("GET", f"/models/{name}")) == (
        404,
        "ModelNotFoundException",
        f"Model not found: {name}",
    )
    listed = torchserve_body(ts.management("GET", "/models"))["models"]
    assert name not in [model["modelName"] for model in listed]
    for method, path in [
        ("PUT", f"/models/{name}?min_worker=1"),
        ("PUT", f"/models/{name}/1/set-default"),
        ("DELETE", f"/models/{name}"),
    ]:
        assert error_of(ts.management(method, path))[:2] == (404, "ModelNotFoundException")
    ping = ts.inference("GET", "/ping")
    assert (ping.status_code, torchserve_body(ping)) == (200, {"status": "Healthy"})


def test_a_failed_synchronous_registration_unregisters_the_model(explicit: Deployment):
    folder = add_broken_model(explicit.repository, "phantom")
    ts = explicit.torchserve
    for _ in range(2):  # the second time is 500 again, not 409: nothing was left registered
        status, kind, message = error_of(ts.management("POST", "/models?url=phantom"))
        assert (status, kind) == (500, "InternalServerException")
        assert "phantom/1/model.onnx" in message
        assert_unknown(ts, "phantom")
    # The folder was in the repository before: it is never removed.
    assert (folder / "1" / "model.onnx").is_file()


def test_a_failed_asynchronous_registration_unregisters_the_model(explicit: Deployment):
    make_archive(explicit.store / "late_failure.zip", {"1/model.onnx": b"not an onnx model"})
    ts = explicit.torchserve
    assert ts.register("url=late_failure.zip&synchronous=false", 202) == (
        "Processing worker updates..."
    )
    # Gone once the load has failed: its unpacked folder too.
    wait_until(
        lambda: not (explicit.repository / "late_failure").exists(),
        60,
        message="the failed registration's folder to be removed",
    )
    # The folder goes first; the registration counts as under way (409) until just after.
    wait_until(
        lambda: ts.management("PUT", "/models/late_failure?min_worker=1").status_code != 409,
        30,
        message="the failed registration to end",
    )
    assert_unknown(ts, "late_failure")
    assert [p.name for p in explicit.repository.iterdir() if p.name.startswith(".")] == []
