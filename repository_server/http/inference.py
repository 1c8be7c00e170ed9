"""The inference port: the Open Inference Protocol (KServe v2) as Triton serves it, and
TorchServe's /ping and /predictions. Errors under /v2 answer in Triton's form, all others in
TorchServe's."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware

from repository_server import __version__
from repository_server.dataplane import DataPlane
from repository_server.http.errors import (
    INFERENCE_EXCEPTION_HANDLERS,
    V2_PREFIX,
    not_found_by_path,
    too_large_by_path,
)
from repository_server.http.limits import BodySizeLimit
from repository_server.http.openapi import api_description_routes, model_description_routes
from repository_server.http.paths import RefuseEncodedSlash, StripTrailingSlash
from repository_server.http.predictions import PredictionEndpoints, prediction_routes
from repository_server.http.v2 import V2Endpoints, v2_routes

TITLE = "repository-server inference API"


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
            Middleware(RefuseEncodedSlash, respond=not_found_by_path),
            Middleware(StripTrailingSlash, keep_prefix=V2_PREFIX + "/"),
            Middleware(BodySizeLimit, max_bytes=limit, respond=too_large_by_path),
        ],
    )
    app.router.redirect_slashes = False
    return app
