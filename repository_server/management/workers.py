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

from repository_server.errors import InvalidRequestError, ServerNotReadyError
from repository_server.management.lookup import known_record, require_version
from repository_server.management.params import RequestParams
from repository_server.management.registrations import RegistrationBook
from repository_server.management.served import scheduler_of
from repository_server.manager.manager import ModelManager
from repository_server.manager.served import ServedVersion
from repository_server.scheduling import check_worker_count

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
        min_worker = check_worker_count(params.integer("min_worker", 1, minimum=0), "min_worker")
        max_worker = check_worker_count(
            params.integer("max_worker", min_worker, minimum=0), "max_worker"
        )
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


def forget_worker_counts(manager: ModelManager, name: str) -> None:
    """A model registered again starts from its config's worker count, as a new one."""
    manager.model_workers.pop(name, None)
    for key in [key for key in manager.worker_overrides if key[0] == name]:
        del manager.worker_overrides[key]
    for key in [key for key in manager.max_workers if key[0] == name]:
        del manager.max_workers[key]


class WorkerScaler:
    def __init__(
        self,
        manager: ModelManager,
        book: RegistrationBook,
        notify_changed: Callable[[str], None],
    ) -> None:
        self.manager = manager
        self.book = book
        self.notify_changed = notify_changed

    def _targets(self, name: str, version: int | None) -> list[ServedVersion]:
        self.book.refuse_while_changing(name)
        if version is not None:
            require_version(self.manager, name, version)
            return [self.manager.get(name, version)]
        record, rows = known_record(self.manager, name)
        if not record.ready:
            states = ", ".join(f"{row.version}: {row.state}" for row in rows)
            raise ServerNotReadyError(
                f"Model {name} has no READY version to scale (versions {states}); "
                f"GET /models/{name} tells why"
            )
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
