"""The metrics port: Prometheus text."""

from __future__ import annotations

from starlette.applications import Starlette

from repository_server.model_server import ModelServer


def create_metrics_app(server: ModelServer) -> Starlette:
    return Starlette(routes=[])
