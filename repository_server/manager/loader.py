"""Loads one model version in the load thread pool and wraps it for serving."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from backends import registry
from backends.base import LoadedModel, ModelLoadError
from repository_server.collection import freeze_after_load
from repository_server.manager.desired import DesiredModel
from repository_server.manager.manager import VersionLoadError
from repository_server.manager.served import ServedVersion
from repository_server.scheduling import Scheduler, VersionStatistics

logger = logging.getLogger(__name__)

# Builds per-version objects once at load time for other layers (e.g. the HTTP tensor codec).
# (the loaded model, what was asked, the version folder) -> per-version objects for the request
# path; runs in the loading thread, so it may read files.
ExtrasBuilder = Callable[[LoadedModel, DesiredModel, Path], dict[str, Any]]


class BackendVersionLoader:
    """Loads versions with their backend, off the event loop, and builds their scheduler."""

    def __init__(
        self,
        *,
        root: Path,
        executor: Executor,
        job_queue_size: int,
        response_timeout: float,
        build_extras: ExtrasBuilder | None = None,
    ) -> None:
        self.root = root
        self.executor = executor
        self.job_queue_size = job_queue_size
        self.response_timeout = response_timeout
        self.build_extras = build_extras

    async def load(self, desired: DesiredModel, version: int, workers: int) -> ServedVersion:
        config, backend = desired.config, desired.backend
        assert config is not None and backend is not None
        path = desired.available[version].path
        started = time.monotonic()
        loop = asyncio.get_running_loop()
        try:
            loaded = await loop.run_in_executor(
                self.executor, self._load_model, backend, path, desired
            )
        except ModelLoadError as error:
            raise VersionLoadError(error.describe(self.root)) from error
        except Exception as error:  # a runtime's own error type: shown, never fatal
            relative = path.relative_to(self.root) if path.is_relative_to(self.root) else path
            raise VersionLoadError(f"{relative}: {type(error).__name__}: {error}") from error
        try:
            extras = (
                await loop.run_in_executor(self.executor, self.build_extras, loaded, desired, path)
                if self.build_extras
                else {}
            )
            scheduler = self._scheduler(loaded, desired, version, workers)
        except Exception as error:  # e.g. a signature the protocol cannot serve: never fatal
            await loop.run_in_executor(self.executor, loaded.close)
            relative = path.relative_to(self.root) if path.is_relative_to(self.root) else path
            raise VersionLoadError(f"{relative}: {error}") from error
        return ServedVersion(
            model=desired.name,
            version=version,
            key=desired.key(version),
            config=config,
            loaded=loaded,
            scheduler=scheduler,
            response_timeout=float(
                config.integer_parameter("response_timeout", 0) or self.response_timeout
            ),
            load_seconds=time.monotonic() - started,
            extras=extras,
        )

    @staticmethod
    def _load_model(backend: str, path: Path, desired: DesiredModel) -> LoadedModel:
        assert desired.config is not None
        loaded = registry.load_function(backend)(path, desired.config.spec())
        freeze_after_load()
        return loaded

    def _scheduler(
        self, loaded: LoadedModel, desired: DesiredModel, version: int, workers: int
    ) -> Scheduler:
        config = desired.config
        assert config is not None
        return Scheduler(
            loaded,
            model=desired.name,
            version=version,
            workers=workers,
            queue_size=config.integer_parameter("job_queue_size", self.job_queue_size),
            max_batch_size=config.max_batch_size,
            batching=config.dynamic_batching,
            statistics=VersionStatistics(),
        )
