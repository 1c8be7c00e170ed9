"""The metrics port: Prometheus text at `/metrics`, optionally filtered by `name[]`."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from repository_server.dataplane import DataPlane
from repository_server.metrics import ServerCollector


def create_metrics_app(plane: DataPlane) -> Starlette:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(ServerCollector(plane.manager))

    async def metrics(request: Request) -> Response:
        # Collected on the event loop: the manager's state is only ever read from there.
        names = request.query_params.getlist("name[]")
        # A counter's samples end in `_total`: accept the name either way.
        names += [f"{name}_total" for name in names if not name.endswith("_total")]
        chosen = registry.restricted_registry(names) if names else registry
        return Response(generate_latest(chosen), media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[Route("/metrics", metrics, methods=["GET"])])
