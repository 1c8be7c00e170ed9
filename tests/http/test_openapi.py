"""The OpenAPI document of a small Starlette app built here, validated and answered route by route."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate
from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.websockets import WebSocket

from repository_server.http.openapi import api_description_routes, openapi_document


async def ping(request: Request) -> JSONResponse:
    """Health of the server."""
    return JSONResponse({"status": "Healthy"})


async def register(request: Request) -> JSONResponse:
    """Register a model.

    The url names a model folder, an archive in the model store or an allowed URL.
    """
    return JSONResponse({"status": "registered"})


async def describe(request: Request) -> JSONResponse:
    """Describe a model."""
    return JSONResponse([dict(request.path_params)])


async def undocumented(request: Request) -> JSONResponse:
    return JSONResponse(dict(request.path_params))


class Infer(HTTPEndpoint):
    """Inference on a model."""

    async def get(self, request: Request) -> JSONResponse:
        """The model's metadata."""
        return JSONResponse({"name": request.path_params["model"]})

    async def post(self, request: Request) -> JSONResponse:
        return JSONResponse({"outputs": []})


async def stream(websocket: WebSocket) -> None:
    await websocket.close()


ROUTES = [
    Route("/ping", ping),
    Route("/models", register, methods=["POST"]),
    Route("/models/{name}", describe, methods=["GET", "DELETE"]),
    Route("/models/{name}/{version:int}", describe),
    Route("/models/{name}/{version:int}/set-default", undocumented, methods=["PUT"]),
    Mount(
        "/v2/models/{model}",
        routes=[Route("/infer", Infer), Route("/ratio/{r:float}", undocumented)],
    ),
    Route("/hidden", ping, include_in_schema=False),
    WebSocketRoute("/stream", stream),
]


def document() -> dict[str, Any]:
    return openapi_document(ROUTES, "Test API", "1.2.3")


def test_the_document_is_valid_openapi_3_0_1() -> None:
    spec = document()
    validate(spec)
    assert spec["openapi"] == "3.0.1"
    assert spec["info"] == {"title": "Test API", "version": "1.2.3"}


def test_every_http_route_is_described_and_nothing_else() -> None:
    assert {path: sorted(item) for path, item in document()["paths"].items()} == {
        "/ping": ["get"],
        "/models": ["post"],
        "/models/{name}": ["delete", "get"],
        "/models/{name}/{version}": ["get"],
        "/models/{name}/{version}/set-default": ["put"],
        "/v2/models/{model}/infer": ["get", "post"],
        "/v2/models/{model}/ratio/{r}": ["get"],
    }


def test_summaries_and_descriptions_come_from_docstrings() -> None:
    paths = document()["paths"]
    assert paths["/ping"]["get"]["summary"] == "Health of the server."
    assert paths["/models"]["post"]["summary"] == "Register a model."
    assert paths["/models"]["post"]["description"].startswith("The url names a model folder")
    assert paths["/v2/models/{model}/infer"]["get"]["summary"] == "The model's metadata."
    # A method without its own docstring takes its class's; no docstring at all: method and path.
    assert paths["/v2/models/{model}/infer"]["post"]["summary"] == "Inference on a model."
    set_default = paths["/models/{name}/{version}/set-default"]["put"]
    assert set_default["summary"] == "PUT /models/{name}/{version}/set-default"


def test_path_parameters_are_declared_with_their_types() -> None:
    paths = document()["paths"]
    assert paths["/models/{name}/{version}"]["get"]["parameters"] == [
        {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
        {
            "name": "version",
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 0},
        },
    ]
    ratio = paths["/v2/models/{model}/ratio/{r}"]["get"]["parameters"]
    assert [(p["name"], p["schema"]["type"]) for p in ratio] == [
        ("model", "string"),
        ("r", "number"),
    ]
    assert "parameters" not in paths["/ping"]["get"]


def test_operation_ids_are_unique() -> None:
    ids = [op["operationId"] for item in document()["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert "get_describe" in ids
    assert "get_describe_2" in ids


# Served by the app itself.

APP = Starlette(routes=[*api_description_routes("Served API", "0.1.0"), *ROUTES])


def call(method: str, path: str) -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=APP)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, path)

    return asyncio.run(send())


def test_options_slash_answers_the_document_of_its_own_app() -> None:
    response = call("OPTIONS", "/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert "x-request-id" in response.headers
    assert response.text.startswith('{\n  "openapi": "3.0.1"')
    spec = response.json()
    validate(spec)
    assert spec["info"]["title"] == "Served API"
    assert spec["paths"]["/"] == {
        "options": {
            "operationId": "options_api_description",
            "summary": "The OpenAPI 3.0.1 description of this port.",
            "responses": spec["paths"]["/"]["options"]["responses"],
        }
    }
    assert set(spec["paths"]["/api-description"]) == {"get", "options"}
    assert call("GET", "/api-description").json() == spec


def test_other_methods_on_slash_are_not_allowed() -> None:
    assert call("GET", "/").status_code == 405


def fill(path: str) -> str:
    """A concrete URL for a described path: every parameter gets a value of its type."""
    for name, value in {"name": "mlp", "version": "2", "model": "mlp", "r": "0.5"}.items():
        path = path.replace("{" + name + "}", value)
    return path


@pytest.mark.parametrize(
    ("path", "method"),
    [(path, method) for path, item in document()["paths"].items() for method in item],
)
def test_every_described_route_answers(path: str, method: str) -> None:
    assert call(method.upper(), fill(path)).status_code == 200


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_any_method_on_api_description_answers_the_document(method: str) -> None:
    response = call(method, "/api-description")
    assert response.status_code == 200
    assert response.json() == call("OPTIONS", "/").json()
    # The catch-all route is not described twice: GET and OPTIONS stand for it.
    assert set(response.json()["paths"]["/api-description"]) == {"get", "options"}
