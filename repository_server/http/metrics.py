"""The metrics port: Prometheus text."""

from __future__ import annotations

from starlette.applications import Starlette

from repository_server.dataplane import DataPlane


def create_metrics_app(plane: DataPlane) -> Starlette:
    return Starlette(routes=[])
