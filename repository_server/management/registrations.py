"""What each model registered through `POST /models` was registered from, for describe, list
and unregister."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from repository_server.sources import ModelSource


@dataclass(frozen=True)
class Registration:
    source: ModelSource
    handler: str | None = None
    runtime: str | None = None


class RegistrationBook:
    """Registrations by model name. Models loaded at start, by the repository or through the v2
    repository API have none: their URL is their folder name."""

    def __init__(self) -> None:
        self._by_name: dict[str, Registration] = {}

    def add(self, registration: Registration) -> None:
        self._by_name[registration.source.name] = registration

    def get(self, name: str) -> Registration | None:
        return self._by_name.get(name)

    def model_url(self, name: str) -> str:
        registration = self._by_name.get(name)
        return registration.source.url if registration is not None else name

    async def forget(self, name: str) -> None:
        """Drops the registration; a folder unpacked from an archive goes too, so registering
        the same archive again works (TorchServe's #160: "Model file already exists")."""
        registration = self._by_name.pop(name, None)
        if registration is not None and registration.source.unpacked:
            await remove_folder(registration.source.folder)


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
