"""TorchServe's unregister (`DELETE /models/{m}[/{v}]`), EXPLICIT mode only.

Without a version the whole model is unloaded (TorchServe removes only the default version).
With one, that version is unloaded unless it is the default while others still serve (403, as
TorchServe). Unloaded versions stop taking requests at once and drain in the background. A
model folder unpacked from an archive at registration is removed with the model.
"""

from __future__ import annotations

from repository_server.dataplane import DataPlane
from repository_server.errors import ForbiddenError, ServerNotReadyError
from repository_server.management.errors import control_mode_forbids
from repository_server.management.lookup import known_record, require_version
from repository_server.management.registrations import Change, RegistrationBook
from repository_server.management.workers import forget_worker_counts
from repository_server.manager.records import ModelRecord
from repository_server.settings import ControlMode


class Unregistrar:
    def __init__(self, plane: DataPlane, book: RegistrationBook) -> None:
        self.server = plane.server
        self.manager = plane.manager
        self.controller = plane.controller
        self.book = book

    async def unregister(self, name: str, version: int | None) -> str:
        if self.controller.mode is not ControlMode.EXPLICIT:
            raise control_mode_forbids("Unregistering a model", self.controller.mode)
        if not self.controller.started or self.server.exiting:
            raise ServerNotReadyError("Server not ready: models cannot be unregistered now")
        self.book.refuse_while_changing(name)  # 409 while it is being registered
        record, _ = known_record(self.manager, name)
        # A registration of the name waits until the unload is done (409 meanwhile).
        self.book.begin(name, Change.UNREGISTERING)
        try:
            return await self._unregister(record, name, version)
        finally:
            self.book.end(name)

    async def _unregister(self, record: ModelRecord, name: str, version: int | None) -> str:
        if version is not None:
            require_version(self.manager, name, version)
            self.manager.get(name, version)  # 404 for an unknown version, 503 if not READY
            others = [number for number in record.ready if number != version]
            if others:
                if version == record.default_version:
                    raise ForbiddenError(f"Cannot remove default version for model {name}")
                await self.manager.unload_version(name, version)
                self.server.notify_changed(f"unregister {name} version {version}")
                return f'Model "{name}" unregistered'
        await self.controller.unload(name)
        self.server.notify_changed(f"unregister {name}")
        forget_worker_counts(self.manager, name)
        await self.book.forget(name)
        return f'Model "{name}" unregistered'
