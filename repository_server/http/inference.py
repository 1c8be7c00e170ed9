"""The inference port: the Open Inference Protocol (KServe v2) as Triton serves it, TorchServe's
/ping and /predictions."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from repository_server.http.errors import V2_EXCEPTION_HANDLERS, v2_error
from repository_server.model_server import ModelServer


def create_inference_app(server: ModelServer) -> Starlette:
    async def live(request: Request) -> Response:
        if server.exiting:
            return v2_error("Server exiting", 503)
        return Response(status_code=200)

    async def ready(request: Request) -> Response:
        if server.exiting:
            return v2_error("Server exiting", 503)
        return Response(status_code=200 if server.ready else 400)

    routes = [
        Route("/v2/health/live", live, methods=["GET"]),
        Route("/v2/health/ready", ready, methods=["GET"]),
    ]
    return Starlette(routes=routes, exception_handlers=V2_EXCEPTION_HANDLERS)
