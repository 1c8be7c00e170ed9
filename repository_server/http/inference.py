"""The inference port: the Open Inference Protocol (KServe v2) as Triton serves it, and
TorchServe's /ping and /predictions. Errors under /v2 answer in Triton's form, all others in
TorchServe's."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.types import Scope

from repository_server import __version__
from repository_server.dataplane import DataPlane
from repository_server.http.errors import (
    INFERENCE_EXCEPTION_HANDLERS,
    V2_PREFIX,
    is_v2_path,
    torchserve_error,
    v2_error,
)
from repository_server.http.limits import BodySizeLimit
from repository_server.http.openapi import api_description_routes, model_description_routes
from repository_server.http.paths import RefuseEncodedSlash, StripTrailingSlash
from repository_server.http.predictions import PredictionEndpoints, prediction_routes
from repository_server.http.v2 import V2Endpoints, v2_routes

TITLE = "repository-server inference API"


def _too_large(scope: Scope, message: str) -> Response:
    if is_v2_path(scope["path"]):
        return v2_error(message, 413)
    return torchserve_error(413, "BadRequestException", message)


def _not_found(scope: Scope, message: str) -> Response:
    if is_v2_path(scope["path"]):
        return v2_error(message, 404)
    return torchserve_error(404, "ResourceNotFoundException", message)


def create_inference_app(plane: DataPlane) -> Starlette:
    routes = [
        *v2_routes(V2Endpoints(plane)),
        *prediction_routes(PredictionEndpoints(plane)),
        *model_description_routes("/predictions", plane.require_known, TITLE, __version__),
        *api_description_routes(TITLE, __version__),
    ]
    limit = plane.server.settings.max_request_size
    app = Starlette(
        routes=routes,
        exception_handlers=INFERENCE_EXCEPTION_HANDLERS,
        middleware=[
            # TorchServe's paths ignore a trailing slash; Triton's answer 404 for one.
            Middleware(RefuseEncodedSlash, respond=_not_found),
            Middleware(StripTrailingSlash, keep_prefix=V2_PREFIX + "/"),
            Middleware(BodySizeLimit, max_bytes=limit, respond=_too_large),
        ],
    )
    app.router.redirect_slashes = False
    return app
