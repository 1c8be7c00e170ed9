"""The management port: TorchServe's management API (and Triton's repository endpoints)."""

from __future__ import annotations

from starlette.applications import Starlette

from repository_server.dataplane import DataPlane


def create_management_app(plane: DataPlane) -> Starlette:
    return Starlette(routes=[])
