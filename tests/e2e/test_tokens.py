"""Tokens through the real server: with a management token set, loading and unloading models
needs it on the inference port too, so the inference token allows inference only; the index
stays readable, and `/api-description` stays open whatever the method."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.server_process import ServerProcess
from tests.management.conftest import add_model_folder

pytestmark = pytest.mark.e2e

MANAGEMENT = "management-Secret"
INFERENCE = "inference-Secret"
CONTROL_NEEDS = "loading and unloading models needs the management token, on every port"
ROW = {"inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [1, 4], "data": [0] * 4}]}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def start(tmp_path_factory: pytest.TempPathFactory, *tokens: str) -> ServerProcess:
    base = tmp_path_factory.mktemp("tokens")
    root = base / "repository"
    add_model_folder(root, "mlp")
    add_model_folder(root, "other")
    args = ["--model-control-mode", "explicit", "--load-model", "mlp", *tokens]
    server = ServerProcess(root, args, log_location=base / "logs").start(wait_ready=False)
    server.wait_for_log("Model server started")
    return server


@pytest.fixture(scope="module")
def both_tokens(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start(
        tmp_path_factory, "--management-token", MANAGEMENT, "--inference-token", INFERENCE
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def management_token_only(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start(tmp_path_factory, "--management-token", MANAGEMENT)
    yield server
    server.stop()


def post(server: ServerProcess, path: str, token: str | None = None, **options) -> httpx.Response:
    headers = bearer(token) if token else {}
    return httpx.post(f"{server.inference_url}{path}", headers=headers, timeout=60, **options)


def listed(server: ServerProcess) -> list[str]:
    response = httpx.get(f"{server.management_url}/models", headers=bearer(MANAGEMENT))
    return [model["modelName"] for model in response.json()["models"]]


@pytest.mark.parametrize("action", ["load", "unload"])
def test_the_inference_token_cannot_load_or_unload(both_tokens, action):
    refused = post(both_tokens, f"/v2/repository/models/mlp/{action}", INFERENCE, json={})
    assert refused.status_code == 401
    # Under /v2 in Triton's form, so tritonclient shows the message.
    assert refused.json() == {
        "error": "Token Authorization failed: the bearer token is not the management token; "
        + CONTROL_NEEDS,
    }
    assert refused.headers["www-authenticate"] == (
        'Bearer realm="repository-server", error="invalid_token"'
    )
    assert listed(both_tokens) == ["mlp"]
    assert post(both_tokens, "/v2/models/mlp/infer", INFERENCE, json=ROW).status_code == 200


def test_a_config_cannot_be_replaced_with_the_inference_token(both_tokens):
    body = {"parameters": {"config": '{"max_batch_size": 8}'}}
    refused = post(both_tokens, "/v2/repository/models/mlp/load", INFERENCE, json=body)
    assert refused.status_code == 401
    refused = post(both_tokens, "/v2/repository/models/other/load")
    assert refused.status_code == 401
    assert refused.json()["error"].endswith(CONTROL_NEEDS)
    assert "other" not in listed(both_tokens)


def test_the_management_token_loads_and_unloads_on_the_inference_port(both_tokens):
    assert post(both_tokens, "/v2/repository/models/other/load", MANAGEMENT).status_code == 200
    assert sorted(listed(both_tokens)) == ["mlp", "other"]
    assert post(both_tokens, "/v2/repository/models/other/unload", MANAGEMENT).status_code == 200
    assert listed(both_tokens) == ["mlp"]


def test_the_inference_token_reads_the_index(both_tokens):
    response = post(both_tokens, "/v2/repository/index", INFERENCE)
    assert response.status_code == 200
    assert {"name": "mlp", "version": "1", "state": "READY"} in response.json()


@pytest.mark.parametrize("surface", ["inference", "management"])
@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE"])
def test_api_description_is_open_whatever_the_method(both_tokens, surface, method):
    response = httpx.request(method, f"{both_tokens.url(surface)}/api-description", timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["openapi"] == "3.0.1"


def test_with_only_a_management_token_inference_stays_open(management_token_only):
    server = management_token_only
    assert post(server, "/v2/models/mlp/infer", json=ROW).status_code == 200
    assert post(server, "/v2/repository/index").status_code == 200
    refused = post(server, "/v2/repository/models/mlp/unload")
    assert refused.status_code == 401
    assert refused.json()["error"].endswith(CONTROL_NEEDS)
    assert listed(server) == ["mlp"]
    assert post(server, "/v2/repository/models/other/load", MANAGEMENT).status_code == 200
    assert post(server, "/v2/repository/models/other/unload", MANAGEMENT).status_code == 200
