"""A real ModelServer (ONNX Runtime models in a temporary repository) for the keeper tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from repository_server.model_server import ModelServer
from repository_server.settings import ControlMode, Settings
from tests.repositories import Repository


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def log_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """LOG_LOCATION for the test: snapshots go to its `config` folder."""
    location = tmp_path / "logs"
    monkeypatch.setenv("LOG_LOCATION", str(location))
    return location


@pytest.fixture
def two_models(repository: Repository) -> Repository:
    """a: versions 1 and 2, both served (answer 1 and 2); b: version 1 (answers 10)."""
    repository.config("a", version_policy={"all": {}})
    repository.add_version("a", 1)
    repository.add_version("a", 2)
    repository.add_version("b", 1, addend=10)
    return repository


def explicit_settings(repository: Repository, *load: str, **values: Any) -> Settings:
    return Settings(
        model_repository=repository.root,
        model_control_mode=ControlMode.EXPLICIT,
        load_model=load,
        **values,
    )


@asynccontextmanager
async def started(settings: Settings) -> AsyncIterator[ModelServer]:
    """A started ModelServer, stopped (its models unloaded) on the way out."""
    server = ModelServer(settings)
    try:
        report = await server.start()
        assert report.failures == {}
        yield server
    finally:
        await server.stop()
