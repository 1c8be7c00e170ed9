"""A real repository on disk with a real manager over it (ONNX Runtime, real schedulers)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numpy as np
import pytest

from repository_server.errors import ServerError
from repository_server.manager import ModelManager, RepositoryController, desire
from repository_server.manager.loader import BackendVersionLoader
from repository_server.repository import DEFAULT_POLICY, RepositoryScanner, VersionPolicy
from repository_server.settings import ControlMode
from tests.repositories import Repository

T = TypeVar("T")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Harness:
    """The manager and scanner wired as the server wires them, driven by the test."""

    def __init__(self, repository: Repository, executor: ThreadPoolExecutor) -> None:
        self.repository = repository
        self.scanner = RepositoryScanner(repository.root)
        self.loader = BackendVersionLoader(
            root=repository.root, executor=executor, job_queue_size=100, response_timeout=30
        )
        self.manager = ModelManager(self.loader, drain_timeout=30)

    async def sync(
        self, name: str, policy: VersionPolicy = DEFAULT_POLICY, **options: Any
    ) -> dict[int, str]:
        """Scans one model folder and applies it (None when the folder is gone)."""
        entry = self.scanner.scan_model(name)
        desired = (
            None
            if entry is None
            else desire(entry, default_policy=policy, is_settled=lambda v: True)
        )
        return await self.manager.apply(name, desired, forget=entry is None, **options)

    async def infer(self, name: str, version: int | None = None, value: float = 0.0) -> float:
        served = self.manager.get(name, version)
        outputs = await served.infer({"INPUT0": np.full((1, 4), value, dtype=np.float32)})
        return float(outputs["OUTPUT0"][0, 0])

    async def wait_for_output(
        self, name: str, expected: float, version: int | None = None, timeout: float = 20.0
    ) -> None:
        """Waits until requests to `name` answer INPUT0 + `expected` (a reload took effect)."""
        deadline = time.monotonic() + timeout
        last: object = None
        while True:
            try:
                last = await self.infer(name, version)
                if last == expected:
                    return
            except ServerError as error:
                last = error
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} still answers {last!r}, not {expected}")
            await asyncio.sleep(0.02)

    def states(self, name: str) -> dict[int | None, tuple[str, str]]:
        return {row.version: (row.state.value, row.reason) for row in self.manager.statuses(name)}

    async def drained(self) -> None:
        while self.manager._draining:
            await asyncio.gather(*list(self.manager._draining), return_exceptions=True)


@pytest.fixture
async def harness(repository: Repository) -> AsyncIterator[Harness]:
    with ThreadPoolExecutor(4) as executor:
        harness = Harness(repository, executor)
        yield harness
        await harness.manager.shutdown()


async def eventually(condition: Callable[[], T], timeout: float = 20.0) -> T:
    """Awaits until `condition()` is truthy (checked every 20 ms), without blocking the loop."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {condition}")
        await asyncio.sleep(0.02)


def controller(harness: Harness, mode: ControlMode, **options: Any) -> RepositoryController:
    return RepositoryController(
        harness.manager,
        harness.scanner,
        mode=mode,
        default_policy=options.pop("default_policy", DEFAULT_POLICY),
        **options,
    )
