"""The inference port answers each protocol in its own form: Triton's `{"error": ...}` under /v2,
TorchServe's `{"code", "type", "message"}` everywhere else, routing errors included."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from repository_server.errors import QueueFullError
from repository_server.http.errors import INFERENCE_EXCEPTION_HANDLERS, is_v2_path


async def refuse(request: Request) -> Response:
    raise QueueFullError("mlp", 2, 100)


APP = Starlette(
    routes=[
        Route("/v2/models/{model}/infer", refuse, methods=["POST"]),
        Route("/v2/models/{model}/versions/{version}/infer", refuse, methods=["POST"]),
        Route("/predictions/{model_name}", refuse, methods=["POST"]),
    ],
    exception_handlers=INFERENCE_EXCEPTION_HANDLERS,
)
NO_WORKER = "has no worker to serve inference request. Please use scale workers API to add workers."


def call(method: str, path: str) -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=APP)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, path)

    return asyncio.run(send())


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/v2", True), ("/v2/models/m/infer", True), ("/v2x", False), ("/predictions/m", False)],
)
def test_v2_paths_are_v2_and_below(path: str, expected: bool) -> None:
    assert is_v2_path(path) is expected


@pytest.mark.parametrize(
    ("method", "path", "status", "error_type", "message"),
    [
        (
            "GET",
            "/nosuch",
            404,
            "ResourceNotFoundException",
            "Requested resource is not found, please refer to API document.",
        ),
        (
            "GET",
            "/predictions/mlp",
            405,
            "MethodNotAllowedException",
            "Requested method is not allowed, please refer to API document.",
        ),
    ],
)
def test_routing_errors_outside_v2_are_in_torchserve_s_envelope(
    method: str, path: str, status: int, error_type: str, message: str
) -> None:
    response = call(method, path)
    assert response.status_code == status
    expected = {"code": status, "type": error_type, "message": message}
    assert response.text == json.dumps(expected, indent=2) + "\n"
    assert response.headers["x-request-id"]


def test_routing_errors_under_v2_keep_triton_s_form() -> None:
    assert call("GET", "/v2/nosuch").json() == {"error": "Not Found"}
    assert call("GET", "/v2/models/m/infer").json() == {"error": "Method Not Allowed"}


def test_a_domain_error_outside_v2_is_in_torchserve_s_envelope() -> None:
    response = call("POST", "/predictions/mlp")
    assert response.status_code == 503
    assert response.json() == {
        "code": 503,
        "type": "ServiceUnavailableException",
        "message": f'Model "mlp" {NO_WORKER}',
    }


def test_the_no_worker_refusal_names_the_version_only_when_the_request_did() -> None:
    unversioned = call("POST", "/v2/models/mlp/infer")
    assert unversioned.status_code == 503
    assert unversioned.json() == {"error": f'Model "mlp" {NO_WORKER}'}
    versioned = call("POST", "/v2/models/mlp/versions/2/infer")
    assert versioned.status_code == 503
    assert versioned.json() == {"error": f'Model "mlp" Version 2 {NO_WORKER}'}
