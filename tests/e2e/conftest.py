"""Fixtures that start the real CLI: `start_server(repository, *args)`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.e2e.server_process import ServerProcess

StartServer = Callable[..., ServerProcess]


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[StartServer]:
    """Starts servers on free ports (waiting until ready unless told not to); stops them all."""
    started: list[ServerProcess] = []

    def start(
        repository: Path,
        *args: str,
        wait_ready: bool = True,
        log_location: Path | None = None,
        **options: object,
    ) -> ServerProcess:
        server = ServerProcess(
            repository,
            args,
            log_location=log_location or tmp_path / "logs",
            **options,  # type: ignore[arg-type]
        )
        started.append(server)
        return server.start(wait_ready=wait_ready)

    yield start
    for server in started:
        if server.process is not None and server.process.poll() is None:
            server.stop()
