"""The management port: TorchServe's management API, Triton's repository endpoints and the
OpenAPI description of both (`OPTIONS /`).

TorchServe routes answer TorchServe's pretty-printed JSON, errors included (`{"code", "type",
"message"}`); `/v2/...` routes answer as Triton does (`{"error": ...}`).
"""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from repository_server import __version__
from repository_server.dataplane import DataPlane
from repository_server.errors import ServerError
from repository_server.http.errors import (
    client_gone,
    is_v2_path,
    not_found_by_path,
    too_large_by_path,
    torchserve_error,
    torchserve_error_for,
    torchserve_json,
    v2_error,
)
from repository_server.http.limits import BodySizeLimit
from repository_server.http.openapi import api_description_routes, model_description_routes
from repository_server.http.paths import RefuseEncodedSlash, StripTrailingSlash
from repository_server.http.v2 import V2Endpoints, repository_routes
from repository_server.management import (
    ManagementService,
    RegisterRequest,
    RegistrationBook,
    RequestParams,
    ScaleRequest,
)
from repository_server.management.listing import page_bounds
from repository_server.management.params import JSON_MEDIA_TYPE, json_object
from repository_server.sources import parse_version_text

V2_PREFIX = "/v2"
ALL_VERSIONS = "all"
NOT_FOUND = "Requested resource is not found, please refer to API document."
NOT_ALLOWED = "Requested method is not allowed, please refer to API document."


def _version(text: str | None) -> int | None:
    return None if text is None else parse_version_text(text)


async def _register_params(request: Request) -> RequestParams:
    """The query string, with a JSON object body's keys on top (TorchServe takes either)."""
    values: dict[str, Any] = dict(request.query_params)
    content_type = request.headers.get("content-type", "")
    body = await request.body()
    if body.strip() and content_type.split(";")[0].strip().lower() == JSON_MEDIA_TYPE:
        values.update(json_object(body))
    return RequestParams(values)


class ManagementEndpoints:
    """Thin translations between HTTP and the management service."""

    def __init__(self, service: ManagementService) -> None:
        self.service = service

    async def list_models(self, request: Request) -> Response:
        """List the models with a default version, paged by limit and next_page_token."""
        limit, token = page_bounds(RequestParams(request.query_params))
        return torchserve_json(self.service.list_models(limit, token))

    async def register(self, request: Request) -> Response:
        """Register a model from a repository folder, a model-store archive or an allowed URL."""
        parsed = RegisterRequest.parse(await _register_params(request))
        outcome = await self.service.registrar.register(parsed)
        return torchserve_json({"status": outcome.message}, outcome.status)

    async def describe(self, request: Request) -> Response:
        """Describe the default version of a model, one version, or all of them (`all`)."""
        name = request.path_params["model_name"]
        text = request.path_params.get("model_version")
        all_versions = text == ALL_VERSIONS
        version = None if all_versions else _version(text)
        customized = RequestParams(request.query_params).flag("customized", False)
        entries = await self.service.describer.describe(
            name, version, all_versions=all_versions, customized=customized
        )
        return torchserve_json(entries)

    async def scale(self, request: Request) -> Response:
        """Scale the workers of one version, or of every READY version of a model."""
        params = RequestParams(request.query_params)
        text = request.path_params.get("model_version") or params.text("model_version")
        parsed = ScaleRequest.parse(params)
        outcome = await self.service.scaler.scale(
            request.path_params["model_name"], _version(text), parsed
        )
        return torchserve_json({"status": outcome.message}, outcome.status)

    async def unregister(self, request: Request) -> Response:
        """Unregister a whole model, or one version of it that is not the default."""
        message = await self.service.unregistrar.unregister(
            request.path_params["model_name"], _version(request.path_params.get("model_version"))
        )
        return torchserve_json({"status": message})

    async def set_default(self, request: Request) -> Response:
        """Pin the version requests without a version go to."""
        version = _version(request.path_params["model_version"])
        assert version is not None
        message = self.service.set_default(request.path_params["model_name"], version)
        return torchserve_json({"status": message})


def management_routes(endpoints: ManagementEndpoints) -> list[BaseRoute]:
    one = "/models/{model_name}"
    version = one + "/{model_version}"
    return [
        Route("/models", endpoints.list_models, methods=["GET"]),
        Route("/models", endpoints.register, methods=["POST"]),
        Route(one, endpoints.describe, methods=["GET"]),
        Route(one, endpoints.scale, methods=["PUT"]),
        Route(one, endpoints.unregister, methods=["DELETE"]),
        Route(version, endpoints.describe, methods=["GET"]),
        Route(version, endpoints.scale, methods=["PUT"]),
        Route(version, endpoints.unregister, methods=["DELETE"]),
        Route(version + "/set-default", endpoints.set_default, methods=["PUT"]),
    ]


async def _server_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ServerError)
    if is_v2_path(request.url.path):
        return v2_error(error.message, error.status)
    return torchserve_error_for(error)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    status = error.status_code
    if is_v2_path(request.url.path):
        return v2_error(
            {404: "Not Found", 405: "Method Not Allowed"}.get(status, error.detail), status
        )
    if status == 404:
        return torchserve_error(404, "ResourceNotFoundException", NOT_FOUND)
    if status == 405:
        return torchserve_error(405, "MethodNotAllowedException", NOT_ALLOWED)
    return torchserve_error(status, "BadRequestException", str(error.detail))


async def _unexpected_error(request: Request, error: Exception) -> Response:
    # Starlette re-raises the error after this answer, so the server logs its traceback.
    if is_v2_path(request.url.path):
        return v2_error(f"internal error: {type(error).__name__}: {error}", 500)
    return torchserve_error(500, "InternalServerException", f"{type(error).__name__}: {error}")


def create_management_app(
    plane: DataPlane, registrations: RegistrationBook | None = None
) -> Starlette:
    service = ManagementService(plane, registrations)
    routes = [
        *management_routes(ManagementEndpoints(service)),
        *repository_routes(V2Endpoints(plane)),
    ]
    title = "repository-server management API"
    routes += model_description_routes("/models", plane.require_known, title, __version__)
    routes += api_description_routes(title, __version__)
    return Starlette(
        routes=routes,
        exception_handlers={
            ServerError: _server_error,
            HTTPException: _http_error,
            ClientDisconnect: client_gone,
            Exception: _unexpected_error,
        },
        middleware=[
            Middleware(RefuseEncodedSlash, respond=not_found_by_path),
            Middleware(StripTrailingSlash),
            Middleware(
                BodySizeLimit,
                max_bytes=plane.server.settings.max_request_size,
                respond=too_large_by_path,
            ),
        ],
    )
