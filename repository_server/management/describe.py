"""TorchServe's describe-model answer (`GET /models/{m}[/{v}|/all]`): one entry per version, in
TorchServe's field order, plus our `state` and `reason`. Versions that are loading or failed are
described too, with no workers, so a client can see why a model does not serve."""

from __future__ import annotations

import asyncio
from typing import Any

from repository_server.dataplane import DataPlane
from repository_server.errors import ModelNotFoundError, VersionNotFoundError
from repository_server.management.errors import NoWorkerError
from repository_server.management.lookup import known_record
from repository_server.management.memory import process_rss_bytes
from repository_server.management.registrations import RegistrationBook
from repository_server.management.served import scheduler_of
from repository_server.manager.records import ModelRecord
from repository_server.manager.served import ServedVersion
from repository_server.manager.states import VersionStatus
from repository_server.repository.config import ModelConfig

_GPU_DEVICES = ("cuda", "gpu")


def batch_delay_ms(config: ModelConfig) -> int:
    """TorchServe's maxBatchDelay: the dynamic batching delay, 0 when requests are not batched."""
    if config.max_batch_size <= 0 or config.dynamic_batching is None:
        return 0
    return config.dynamic_batching.max_queue_delay_microseconds // 1000


class Describer:
    def __init__(self, plane: DataPlane, book: RegistrationBook) -> None:
        self.manager = plane.manager
        self.controller = plane.controller
        self.settings = plane.server.settings
        self.book = book

    async def describe(
        self, name: str, version: int | None, *, all_versions: bool, customized: bool
    ) -> list[dict[str, Any]]:
        """Without a version: the default one, or every version while none is READY.
        `customized` (one version only, not `all`) asks a worker for the model's metadata."""
        try:
            record, rows = known_record(self.manager, name)
        except ModelNotFoundError:
            if name not in self.book.registering_names():
                raise
            # Registered a moment ago: its folder is being read before its first load.
            return [{"modelName": name, "modelUrl": self.book.model_url(name), "state": "LOADING"}]
        customized = customized and not all_versions
        if version is not None:
            rows = [row for row in rows if row.version == version]
            if not rows:
                raise VersionNotFoundError(name, version)
        elif not all_versions and record.default_version is not None:
            rows = [row for row in rows if row.version == record.default_version]
        memory = process_rss_bytes()
        return [await self._entry(record, row, memory, customized) for row in rows]

    async def _entry(
        self, record: ModelRecord, row: VersionStatus, memory: int, customized: bool
    ) -> dict[str, Any]:
        name = record.name
        registration = self.book.get(name)
        served = self._served(record, row.version)
        config = served.config if served is not None else record.config
        entry: dict[str, Any] = {"modelName": name}
        if row.version is not None:
            entry["modelVersion"] = str(row.version)
        entry["modelUrl"] = self.book.model_url(name)
        if config is not None and row.version is not None:
            desired = record.desired
            backend = served.backend if served is not None else desired and desired.backend
            entry["runtime"] = (registration and registration.runtime) or backend or ""
            if registration is not None and registration.handler:
                entry["handler"] = registration.handler
            entry.update(self._settings_of(record, row.version, config, served))
            entry["loadedAtStartup"] = registration is None and record.loaded_at_startup
            entry["workers"] = self._workers(served, memory)
            if served is not None:
                scheduler = scheduler_of(served)
                entry["jobQueueStatus"] = {
                    "remainingCapacity": scheduler.remaining_capacity,
                    "pendingRequests": scheduler.pending,
                }
        entry["state"] = row.state.value
        if row.reason:
            entry["reason"] = row.reason
        if customized:
            entry["customizedMetadata"] = await self._customized(name, served)
        return entry

    @staticmethod
    async def _customized(name: str, served: ServedVersion | None) -> Any:
        if served is None or scheduler_of(served).workers == 0:
            raise NoWorkerError(
                f'Model "{name}" has no worker to serve describe request. '
                "Please use scale workers API to add workers."
            )
        return await asyncio.to_thread(served.loaded.describe)

    @staticmethod
    def _served(record: ModelRecord, version: int | None) -> ServedVersion | None:
        slot = record.slots.get(version) if version is not None else None
        return slot.serving if slot is not None else None

    def _settings_of(
        self, record: ModelRecord, version: int, config: ModelConfig, served: ServedVersion | None
    ) -> dict[str, Any]:
        workers = self.manager.workers_for(record, version)
        timeout = (
            served.response_timeout
            if served is not None
            else config.integer_parameter("response_timeout", 0) or self.settings.response_timeout
        )
        retry = config.integer_parameter(
            "max_retry_timeout_secs", int(self.settings.max_retry_timeout_secs)
        )
        device = served.loaded.device.lower() if served is not None else "cpu"
        return {
            "minWorkers": workers,
            "maxWorkers": self.manager.max_workers.get((record.name, version), workers),
            "batchSize": max(config.max_batch_size, 1),
            "maxBatchDelay": batch_delay_ms(config),
            "responseTimeout": int(timeout),
            "maxRetryTimeoutInSec": retry,
            "deviceType": "gpu" if device.startswith(_GPU_DEVICES) else "cpu",
        }

    @staticmethod
    def _workers(served: ServedVersion | None, memory: int) -> list[dict[str, Any]]:
        if served is None:
            return []
        device = served.loaded.device
        workers = []
        for info in scheduler_of(served).worker_info():
            worker = info.to_json(device)
            worker["memoryUsage"] = memory
            workers.append(worker)
        return workers
