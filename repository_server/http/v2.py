"""The Open Inference Protocol (KServe v2) routes with Triton's extensions, answered as Triton does:
`{"error": ...}` on every error, exactly 200 on success, bodies without a required Content-Type."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from repository_server.dataplane import DataPlane, parse_version
from repository_server.errors import InvalidRequestError
from repository_server.http.compression import (
    MIN_COMPRESSED_SIZE,
    accepted_encoding,
    compress_response,
    inflate_request,
)
from repository_server.http.errors import json_response, v2_error
from repository_server.kserve import (
    decode_infer_request,
    encode_infer_response,
    parse_header_length,
)

_EMPTY_OK = Response(status_code=200)
HEADER_LENGTH = "inference-header-content-length"


def _model_version(request: Request) -> tuple[str, int | None]:
    params = request.path_params
    return params["model"], parse_version(params.get("version"))


async def _json_object(request: Request, what: str) -> dict[str, Any]:
    """An optional JSON object body (tritonclient sends none for index, `{}` for load)."""
    body = await request.body()
    if not body.strip():
        return {}
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise InvalidRequestError(f"failed to parse the request JSON buffer: {error}") from error
    if not isinstance(document, dict):
        raise InvalidRequestError(f"{what} request body must be a JSON object")
    return document


class V2Endpoints:
    """Thin translations between HTTP and the data plane."""

    def __init__(self, plane: DataPlane) -> None:
        self.plane = plane
        self.max_request_size = plane.server.settings.max_request_size

    async def live(self, request: Request) -> Response:
        if self.plane.server.exiting:
            return v2_error("Server exiting", 503)
        return Response(status_code=200)

    async def ready(self, request: Request) -> Response:
        if self.plane.server.exiting:
            return v2_error("Server exiting", 503)
        return Response(status_code=200 if self.plane.server.ready else 400)

    async def server_metadata(self, request: Request) -> Response:
        return json_response(self.plane.server_metadata)

    async def model_metadata(self, request: Request) -> Response:
        return json_response(self.plane.model_metadata(*_model_version(request)))

    async def model_ready(self, request: Request) -> Response:
        if self.plane.is_model_ready(*_model_version(request)):
            return Response(status_code=200)
        return v2_error("Model version not ready", 400)

    async def model_config(self, request: Request) -> Response:
        return json_response(self.plane.model_config(*_model_version(request)))

    async def model_statistics(self, request: Request) -> Response:
        return json_response(self.plane.statistics(*_model_version(request)))

    async def all_statistics(self, request: Request) -> Response:
        return json_response(self.plane.statistics(None, None))

    async def infer(self, request: Request) -> Response:
        name, version = _model_version(request)
        headers = request.headers
        body = await request.body()
        encoding = headers.get("content-encoding")
        if encoding is not None:
            body = await inflate_request(body, encoding, self.max_request_size)
        # Looked up after the last await before the call: a version retired meanwhile is never
        # picked, so a swap loses no request.
        served = self.plane.served(name, version)
        json_length = parse_header_length(headers.get(HEADER_LENGTH), len(body))
        signature = served.extras["signature"]
        decoded = decode_infer_request(signature, body, json_length)
        timeout = decoded.timeout_us / 1e6 if decoded.timeout_us else None
        outputs = await served.infer(decoded.inputs, timeout)
        content, response_headers = encode_infer_response(
            name, str(served.version), decoded, outputs, signature.labels
        )
        compression = (
            accepted_encoding(headers.get("accept-encoding"))
            if len(content) >= MIN_COMPRESSED_SIZE
            else None
        )
        if compression is not None:
            content = await compress_response(content, compression)
            response_headers["Content-Encoding"] = compression
        return Response(content, status_code=200, headers=response_headers)

    async def repository_index(self, request: Request) -> Response:
        document = await _json_object(request, "index")
        ready = document.get("ready", False)
        if not isinstance(ready, bool):
            raise InvalidRequestError("Invalid value for 'ready': expected a boolean")
        return json_response(self.plane.index(ready))

    async def load(self, request: Request) -> Response:
        document = await _json_object(request, "load")
        parameters = document.get("parameters", {})
        if not isinstance(parameters, dict):
            raise InvalidRequestError("'parameters' must be a JSON object")
        await self.plane.load(request.path_params["model"], parameters)
        return Response(status_code=200)

    async def unload(self, request: Request) -> Response:
        document = await _json_object(request, "unload")
        parameters = document.get("parameters", {})
        dependents = (
            parameters.get("unload_dependents", False) if isinstance(parameters, dict) else None
        )
        if not isinstance(dependents, bool):
            raise InvalidRequestError(
                "Unable to parse 'unload_dependents': expected a boolean (true or false)"
            )
        await self.plane.unload(request.path_params["model"])
        return Response(status_code=200)

    async def named_repository(self, request: Request) -> Response:
        return v2_error("'repository_name' specification is not supported", 501)


def health_routes(endpoints: V2Endpoints) -> list[BaseRoute]:
    return [
        Route("/v2/health/live", endpoints.live, methods=["GET"]),
        Route("/v2/health/ready", endpoints.ready, methods=["GET"]),
    ]


def repository_routes(endpoints: V2Endpoints) -> list[BaseRoute]:
    """Triton's model repository extension; served on the inference and management ports."""
    return [
        Route("/v2/repository/index", endpoints.repository_index, methods=["POST"]),
        Route("/v2/repository/models/{model}/load", endpoints.load, methods=["POST"]),
        Route("/v2/repository/models/{model}/unload", endpoints.unload, methods=["POST"]),
        Route("/v2/repository/{repository}/index", endpoints.named_repository, methods=["POST"]),
        Route(
            "/v2/repository/{repository}/models/{model}/{action}",
            endpoints.named_repository,
            methods=["POST"],
        ),
    ]


def v2_routes(endpoints: V2Endpoints) -> list[BaseRoute]:
    """Every v2 route of the inference port, each with and without `/versions/{version}`."""
    routes: list[BaseRoute] = [
        *health_routes(endpoints),
        Route("/v2", endpoints.server_metadata, methods=["GET"]),
        Route("/v2/models/stats", endpoints.all_statistics, methods=["GET"]),
        *repository_routes(endpoints),
    ]
    per_model = [
        ("", endpoints.model_metadata, "GET"),
        ("/ready", endpoints.model_ready, "GET"),
        ("/config", endpoints.model_config, "GET"),
        ("/stats", endpoints.model_statistics, "GET"),
        ("/infer", endpoints.infer, "POST"),
    ]
    for prefix in ("/v2/models/{model}", "/v2/models/{model}/versions/{version}"):
        routes += [
            Route(prefix + suffix, call, methods=[method]) for suffix, call, method in per_model
        ]
    return routes
