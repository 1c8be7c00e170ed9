"""TorchServe's scale-workers call (`PUT /models/{m}[/{v}]`): sets the worker count of served
versions live, without reloading them; allowed in every control mode.

Without a version every READY version of the model is scaled (TorchServe scales only the
default one). The count is remembered across reloads of the version; `max_worker` is recorded
and reported, the count does not autoscale between the two.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from repository_server.errors import InvalidRequestError, ModelNotFoundError
from repository_server.management.lookup import require_version
from repository_server.management.params import RequestParams
from repository_server.management.served import scheduler_of
from repository_server.manager.manager import ModelManager
from repository_server.manager.served import ServedVersion

ASYNC_MESSAGE = "Processing worker updates..."
PARTIAL_MESSAGE = "Workers scaling in progress..."


@dataclass(frozen=True)
class ScaleRequest:
    min_worker: int
    max_worker: int
    synchronous: bool = False
    # Seconds to wait for stopping workers to finish their current job; None waits forever.
    timeout: float | None = None

    @classmethod
    def parse(cls, params: RequestParams) -> ScaleRequest:
        min_worker = params.integer("min_worker", 1, minimum=0)
        max_worker = params.integer("max_worker", min_worker, minimum=0)
        if max_worker < min_worker:
            raise InvalidRequestError("max_worker cannot be less than min_worker.")
        timeout = params.integer("timeout", -1, minimum=-1)
        return cls(
            min_worker,
            max_worker,
            synchronous=params.flag("synchronous", False),
            timeout=None if timeout == -1 else float(timeout),
        )


@dataclass(frozen=True)
class ScaleOutcome:
    status: int
    message: str


class WorkerScaler:
    def __init__(self, manager: ModelManager, notify_changed: Callable[[str], None]) -> None:
        self.manager = manager
        self.notify_changed = notify_changed

    def _targets(self, name: str, version: int | None) -> list[ServedVersion]:
        if version is not None:
            require_version(self.manager, name, version)
            return [self.manager.get(name, version)]
        record = self.manager.record(name)
        if record is None or not record.ready:
            raise ModelNotFoundError(name)
        return list(record.ready.values())

    async def scale(self, name: str, version: int | None, request: ScaleRequest) -> ScaleOutcome:
        targets = self._targets(name, version)
        try:
            for served in targets:
                self.manager.scale(name, served.version, request.min_worker, request.max_worker)
        finally:
            self.notify_changed(f"scale {name}")
        if not request.synchronous:
            return ScaleOutcome(202, ASYNC_MESSAGE)
        done = await asyncio.gather(
            *(scheduler_of(served).wait_scaled(request.timeout) for served in targets)
        )
        if not all(done):
            return ScaleOutcome(206, PARTIAL_MESSAGE)
        message = f"Workers scaled to {request.min_worker} for model: {name}"
        if version is not None:
            message += f", version: {version}"
        return ScaleOutcome(200, message)
