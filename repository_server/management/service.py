"""The management API without HTTP: one object per TorchServe call, sharing the registrations."""

from __future__ import annotations

from typing import Any

from repository_server.dataplane import DataPlane
from repository_server.management.default_version import set_default_version
from repository_server.management.describe import Describer
from repository_server.management.listing import list_models
from repository_server.management.register import Registrar
from repository_server.management.registrations import RegistrationBook
from repository_server.management.unregister import Unregistrar
from repository_server.management.workers import WorkerScaler


class ManagementService:
    """Each change (register, scale, unregister, set-default) is told to
    `ModelServer.notify_changed`, so config snapshots follow it. While a model is being
    registered or unregistered, list and describe show it and the other changes of it answer
    409."""

    def __init__(self, plane: DataPlane, registrations: RegistrationBook | None = None) -> None:
        """`registrations`: a book shared with the config snapshots (they record and restore
        each registration's handler, runtime and URL); a new one when not given."""
        self.plane = plane
        self.manager = plane.manager
        self.registrations = registrations if registrations is not None else RegistrationBook()
        self.registrar = Registrar(plane, self.registrations)
        self.describer = Describer(plane, self.registrations)
        self.scaler = WorkerScaler(plane.manager, self.registrations, plane.server.notify_changed)
        self.unregistrar = Unregistrar(plane, self.registrations)

    def list_models(self, limit: int, token: int) -> dict[str, Any]:
        return list_models(self.manager, self.registrations, limit, token)

    def set_default(self, name: str, version: int) -> str:
        self.registrations.refuse_while_changing(name)
        message = set_default_version(self.manager, name, version)
        self.plane.server.notify_changed(f"set-default {name} {version}")
        return message
