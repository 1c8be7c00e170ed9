"""What each model registered through `POST /models` was registered from, for describe, list
and unregister, and which models a registration or unregistration is changing right now."""

from __future__ import annotations

import asyncio
import enum
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repository_server.errors import ConflictError, InvalidRequestError
from repository_server.sources import ModelSource, SourceKind


class Change(str, enum.Enum):
    """A change of a model under way; the others wait for it (409)."""

    REGISTERING = "registered"
    UNREGISTERING = "unregistered"


@dataclass(frozen=True)
class Registration:
    source: ModelSource
    handler: str | None = None
    runtime: str | None = None

    def snapshot_fields(self) -> dict[str, str]:
        """What a config snapshot needs to give the registration back after a restart (the
        model folder itself is found again by name)."""
        fields = {"modelUrl": self.source.url, "sourceKind": self.source.kind.value}
        if self.handler:
            fields["handler"] = self.handler
        if self.runtime:
            fields["runtimeType"] = self.runtime
        return fields


class RegistrationBook:
    """Registrations by model name. Models loaded at start, by the repository or through the v2
    repository API have none: their URL is their folder name."""

    def __init__(self) -> None:
        self._by_name: dict[str, Registration] = {}
        self._changing: dict[str, Change] = {}

    def add(self, registration: Registration) -> None:
        self._by_name[registration.source.name] = registration

    def get(self, name: str) -> Registration | None:
        return self._by_name.get(name)

    def model_url(self, name: str) -> str:
        registration = self._by_name.get(name)
        return registration.source.url if registration is not None else name

    async def forget(self, name: str) -> None:
        """Drops the registration; a folder unpacked from an archive goes too, so registering
        the same archive again works (TorchServe's #160: "Model file already exists"). A
        folder that was in the repository before is never removed."""
        registration = self._by_name.pop(name, None)
        if registration is not None and registration.source.unpacked:
            await remove_folder(registration.source.folder)

    def restore(self, name: str, folder: Path, fields: Mapping[str, Any]) -> None:
        """Fills the book again for a model a config snapshot brings back, from what
        `Registration.snapshot_fields` gave; `folder` is the model's folder in the repository.
        Raises InvalidRequestError naming a field that cannot be used."""
        url, kind = fields.get("modelUrl"), fields.get("sourceKind", SourceKind.REPOSITORY.value)
        handler, runtime = fields.get("handler"), fields.get("runtimeType")
        for key, value in (("modelUrl", url), ("handler", handler), ("runtimeType", runtime)):
            if value is not None and not isinstance(value, str):
                raise InvalidRequestError(f"model {name}: {key} must be a string, not {value!r}")
        try:
            source_kind = SourceKind(kind)
        except ValueError:
            known = ", ".join(item.value for item in SourceKind)
            raise InvalidRequestError(
                f"model {name}: sourceKind {kind!r} is not one of {known}"
            ) from None
        source = ModelSource(name, folder, url or name, source_kind)
        self.add(Registration(source, handler or None, runtime or None))

    # -- changes under way ------------------------------------------------------------------

    def begin(self, name: str, change: Change) -> None:
        """Marks `name` as changing; ConflictError when another change of it runs."""
        self.refuse_while_changing(name)
        self._changing[name] = change

    def end(self, name: str) -> None:
        self._changing.pop(name, None)

    def registering_names(self) -> list[str]:
        """Models whose registration found its folder and is loading it: they exist for list
        and describe (the request's URL is still being resolved for the others)."""
        return [
            name
            for name, change in self._changing.items()
            if change is Change.REGISTERING and name in self._by_name
        ]

    def refuse_while_changing(self, name: str) -> None:
        """ConflictError (409) while a registration or unregistration of `name` runs."""
        change = self._changing.get(name)
        if change is not None:
            raise ConflictError(f"Model {name} is being {change.value}; wait for it to finish")


async def remove_folder(folder: Path) -> None:
    """Renames the folder to a hidden name first, so the scanner never sees half of it."""

    def remove() -> None:
        hidden = folder.with_name(f".{folder.name}.removed-{uuid.uuid4().hex}")
        try:
            folder.rename(hidden)
        except FileNotFoundError:
            return
        shutil.rmtree(hidden, ignore_errors=True)

    await asyncio.to_thread(remove)
