"""A served version: a loaded model with its scheduler, the thing requests run on."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from backends.base import LoadedModel, ModelMetadata
from repository_server.collection import close_with_full_collection
from repository_server.errors import VersionNotReadyError
from repository_server.manager.desired import VersionKey
from repository_server.manager.states import VersionState
from repository_server.repository.config import ModelConfig
from repository_server.scheduling import Scheduler

logger = logging.getLogger(__name__)


class ServedVersion:
    """One loaded version. READY while it takes requests; UNLOADING once retired, until its
    in-flight requests finish and its memory is released."""

    def __init__(
        self,
        *,
        model: str,
        version: int,
        key: VersionKey,
        config: ModelConfig,
        loaded: LoadedModel,
        scheduler: Scheduler,
        response_timeout: float,
        load_seconds: float,
        extras: Mapping[str, Any] | None = None,
    ) -> None:
        self.model = model
        self.version = version
        self.key = key
        self.config = config
        self.backend = key.backend
        self.loaded = loaded
        self.metadata: ModelMetadata = loaded.metadata
        self.scheduler = scheduler
        self.response_timeout = response_timeout
        self.load_seconds = load_seconds
        self.loaded_at = time.time()
        self.state = VersionState.READY
        # Per-version objects other layers build once at load time (e.g. the tensor codec).
        self.extras: dict[str, Any] = dict(extras or {})

    @property
    def ready(self) -> bool:
        return self.state is VersionState.READY

    async def infer(
        self, inputs: Mapping[str, np.ndarray], timeout: float | None = None
    ) -> dict[str, np.ndarray]:
        """`timeout` (s): the request's own limit (Triton's `timeout` parameter); the shorter of
        it and the version's response timeout applies."""
        if self.state is not VersionState.READY:
            raise VersionNotReadyError(self.model, self.version, self.state.value)
        limit = self.response_timeout
        if timeout is not None and (not limit or timeout < limit):
            limit = timeout
        return await self.scheduler.infer(inputs, limit)

    async def retire(self, drain_timeout: float | None) -> None:
        """Stops taking requests at once, lets the in-flight ones finish, then frees the model."""
        self.state = VersionState.UNLOADING
        if await self.scheduler.close(drain_timeout):
            await asyncio.get_running_loop().run_in_executor(
                None, close_with_full_collection, self.loaded.close
            )
        else:
            # A request still runs inside the runtime: freeing now could crash the process, so
            # the memory is left to the garbage collector once that call returns.
            logger.warning(
                "model %s version %s: requests still running after %ss; not freed explicitly",
                self.model,
                self.version,
                drain_timeout,
            )
        self.state = VersionState.UNAVAILABLE
