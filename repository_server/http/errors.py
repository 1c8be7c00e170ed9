"""Domain errors to HTTP responses, in one place per surface.

KServe v2 / Triton routes answer `{"error": "..."}`; TorchServe routes answer
`{"code": N, "type": "SomeException", "message": "..."}` pretty-printed with an x-request-id.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from repository_server.errors import (
    ModelNotFoundError,
    NoVersionAvailableError,
    ServerError,
    VersionNotFoundError,
)

JSON = "application/json"


def json_response(
    document: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(document), status_code=status, media_type=JSON, headers=headers)


def v2_error(message: str, status: int) -> Response:
    return json_response({"error": message}, status)


# TorchServe sends these on every answer, so that no proxy or browser caches one.
_NO_CACHE = {
    "Pragma": "no-cache",
    "Cache-Control": "no-cache; no-store, must-revalidate, private",
    "Expires": "Thu, 01 Jan 1970 00:00:00 UTC",
}


def torchserve_headers(**extra: str) -> dict[str, str]:
    """TorchServe's response headers: a fresh x-request-id and its no-cache trio."""
    return {"x-request-id": str(uuid.uuid4()), **_NO_CACHE, **extra}


def torchserve_json(document: Any, status: int = 200) -> Response:
    """TorchServe's bodies: pretty-printed (2 spaces), a trailing newline, TorchServe's headers."""
    body = orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
    return Response(body, status_code=status, media_type=JSON, headers=torchserve_headers())


def torchserve_error(status: int, error_type: str, message: str) -> Response:
    return torchserve_json({"code": status, "type": error_type, "message": message}, status)


_V2_HTTP_MESSAGES = {404: "Not Found", 405: "Method Not Allowed"}


async def v2_server_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ServerError)
    return v2_error(error.message, error.status)


async def v2_http_exception(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    return v2_error(_V2_HTTP_MESSAGES.get(error.status_code, error.detail), error.status_code)


V2_EXCEPTION_HANDLERS: dict[Any, Any] = {
    ServerError: v2_server_error,
    HTTPException: v2_http_exception,
}


def torchserve_error_for(error: ServerError) -> Response:
    """A domain error in TorchServe's words (its messages for unknown models and versions)."""
    if isinstance(error, ModelNotFoundError | NoVersionAvailableError):
        return torchserve_error(404, "ModelNotFoundException", f"Model not found: {error.model}")
    if isinstance(error, VersionNotFoundError):
        return torchserve_error(
            404,
            "ModelVersionNotFoundException",
            f"Model version: {error.version} does not exist for model: {error.model}",
        )
    return torchserve_error(error.status, error.torchserve_type, error.message)
