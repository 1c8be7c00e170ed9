"""The management port: TorchServe's management API (and Triton's repository endpoints)."""

from __future__ import annotations

from starlette.applications import Starlette

from repository_server.model_server import ModelServer


def create_management_app(server: ModelServer) -> Starlette:
    return Starlette(routes=[])
