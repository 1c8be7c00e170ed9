"""The metrics port: Prometheus text at `/metrics`, optionally filtered by `name[]`."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from repository_server.dataplane import DataPlane
from repository_server.metrics import CONTENT_TYPE, ServerCollector, chosen, exposition


def create_metrics_app(plane: DataPlane) -> Starlette:
    collector = ServerCollector(plane.manager)

    async def metrics(request: Request) -> Response:
        # Collected on the event loop: the manager's state is only ever read from there.
        names = request.query_params.getlist("name[]")
        body = exposition(chosen(collector.collect(), names))
        return Response(body, headers={"Content-Type": CONTENT_TYPE})

    return Starlette(routes=[Route("/metrics", metrics, methods=["GET"])])
