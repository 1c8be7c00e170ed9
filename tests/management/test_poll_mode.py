"""In POLL mode the repository decides what is loaded: register and unregister answer 405 saying
how to enable them, while describe, list, scale and set-default work as in EXPLICIT mode. The
server here binds every interface without a token, which it warns about."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.server_process import ServerProcess
from tests.management.conftest import (
    Deployment,
    TorchServe,
    add_model_folder,
    error_of,
    torchserve_body,
)

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def poll(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("poll")
    repository = root / "repository"
    add_model_folder(repository, "mlp", (1, 2), all_versions=True)
    broken = repository / "broken" / "1"
    broken.mkdir(parents=True)
    (broken / "model.onnx").write_bytes(b"not an onnx model")
    server = ServerProcess(
        repository,
        ["--model-control-mode", "poll", "--host", "0.0.0.0"],
        log_location=root / "logs",
    ).start()
    torchserve = TorchServe(server, None, None)
    try:
        yield Deployment(server, torchserve, repository, root / "no-store")
    finally:
        torchserve.close()
        server.stop()


def test_register_and_unregister_are_refused_with_how_to_enable_them(poll: Deployment):
    ts = poll.torchserve
    for method, path in [("POST", "/models?url=mlp"), ("DELETE", "/models/mlp")]:
        status, kind, message = error_of(ts.management(method, path))
        assert (status, kind) == (405, "MethodNotAllowedException")
        assert "model control mode 'poll'" in message
        assert "--model-control-mode explicit" in message
    assert ts.output("mlp") == 2.0


def test_describe_list_scale_and_set_default_work(poll: Deployment):
    ts = poll.torchserve
    (described,) = ts.describe("/models/mlp")
    assert (described["modelUrl"], described["loadedAtStartup"]) == ("mlp", True)
    # A model that failed is listed too: describe tells why (see below).
    assert torchserve_body(ts.management("GET", "/models")) == {
        "models": [
            {"modelName": "broken", "modelUrl": "broken"},
            {"modelName": "mlp", "modelUrl": "mlp"},
        ]
    }
    scaled = ts.management("PUT", "/models/mlp?min_worker=2&synchronous=true")
    assert ts.status(scaled) == "Workers scaled to 2 for model: mlp"
    assert [len(v["workers"]) for v in ts.describe("/models/mlp/all")] == [2, 2]
    pinned = ts.management("PUT", "/models/mlp/1/set-default")
    assert ts.status(pinned) == 'Default version successfully updated for model "mlp" to "1"'
    assert ts.output("mlp") == 1.0


def test_a_model_that_failed_is_described_with_its_reason(poll: Deployment):
    (described,) = poll.torchserve.describe("/models/broken")
    assert described["state"] == "UNAVAILABLE"
    assert "broken/1/model.onnx" in described["reason"]
    assert described["workers"] == []
    assert "jobQueueStatus" not in described
    # Known, so not 404: nothing loaded to scale, and describe tells why.
    assert error_of(poll.torchserve.management("PUT", "/models/broken?min_worker=2")) == (
        503,
        "ServiceUnavailableException",
        "Model broken has no READY version to scale (versions 1: UNAVAILABLE); "
        "GET /models/broken tells why",
    )


def test_binding_every_interface_without_a_token_is_warned_about(
    poll: Deployment, explicit: Deployment
):
    assert poll.server.host == "0.0.0.0"
    for port in ("the inference port", "the management port"):
        assert f"{port} binds 0.0.0.0 without a token" in poll.server.log
    # By default every port binds loopback only.
    assert explicit.server.host == "127.0.0.1"
    assert "without a token" not in explicit.server.log
