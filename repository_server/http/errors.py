"""Domain errors to HTTP responses, in one place per surface.

KServe v2 / Triton routes (`/v2...`) answer `{"error": "..."}`; TorchServe routes, and every other
path, answer `{"code": N, "type": "SomeException", "message": "..."}` pretty-printed with an
x-request-id.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Scope

from repository_server.errors import (
    ModelNotFoundError,
    NoVersionAvailableError,
    QueueFullError,
    ServerError,
    VersionNotFoundError,
)

JSON = "application/json"
logger = logging.getLogger(__name__)

V2_PREFIX = "/v2"
# TorchServe's answers for a path no route serves, and for a method the path does not take.
NOT_FOUND = "Requested resource is not found, please refer to API document."
NOT_ALLOWED = "Requested method is not allowed, please refer to API document."


def is_v2_path(path: str) -> bool:
    """True for the KServe v2 / Triton paths (`/v2` and below), answered in Triton's form."""
    return path == V2_PREFIX or path.startswith(V2_PREFIX + "/")


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
_TORCHSERVE_HTTP_ERRORS = {
    404: ("ResourceNotFoundException", NOT_FOUND),
    405: ("MethodNotAllowedException", NOT_ALLOWED),
}


def torchserve_http_error(status: int, detail: str) -> Response:
    """A routing error (no such path, method not allowed) in TorchServe's words."""
    fallback = ("BadRequestException" if status < 500 else "InternalServerException", detail)
    error_type, message = _TORCHSERVE_HTTP_ERRORS.get(status, fallback)
    return torchserve_error(status, error_type, message)


async def server_error_by_path(request: Request, error: Exception) -> Response:
    """A domain error raised out of a route: Triton's form under /v2, TorchServe's elsewhere."""
    assert isinstance(error, ServerError)
    if not is_v2_path(request.url.path):
        return torchserve_error_for(error)
    # A request that named its version is told which one has no worker.
    if isinstance(error, QueueFullError) and "version" in request.path_params:
        error = error.naming_version()
    return v2_error(error.message, error.status)


async def http_exception_by_path(request: Request, error: Exception) -> Response:
    """A routing error: Triton's `{"error": ...}` under /v2, TorchServe's envelope elsewhere."""
    assert isinstance(error, HTTPException)
    status = error.status_code
    if not is_v2_path(request.url.path):
        return torchserve_http_error(status, error.detail)
    return v2_error(_V2_HTTP_MESSAGES.get(status, error.detail), status)


# The inference port serves both protocols, each answered in its own form.
def too_large_by_path(scope: Scope, message: str) -> Response:
    """413 in the form of the path's protocol (BodySizeLimit's answer)."""
    if is_v2_path(scope["path"]):
        return v2_error(message, 413)
    return torchserve_error(413, "BadRequestException", message)


def not_found_by_path(scope: Scope, message: str) -> Response:
    """404 in the form of the path's protocol (for refusals before routing)."""
    if is_v2_path(scope["path"]):
        return v2_error(message, 404)
    return torchserve_error(404, "ResourceNotFoundException", message)


async def client_gone(request: Request, error: Exception) -> Response:
    """The client closed the connection before its body arrived: nobody reads an answer, and
    nothing went wrong here (a client timeout, a cancelled call)."""
    client = request.client
    who = f"{client.host}:{client.port}" if client else "a client"
    logger.info("%s closed the connection before sending the whole request", who)
    return Response(status_code=400)


INFERENCE_EXCEPTION_HANDLERS: dict[Any, Any] = {
    ServerError: server_error_by_path,
    HTTPException: http_exception_by_path,
    ClientDisconnect: client_gone,
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
