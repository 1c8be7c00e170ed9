"""What the manager remembers of each model and version between reconciles."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from repository_server.manager.desired import VERSION_FOLDER_NOT_FOUND, DesiredModel, VersionKey
from repository_server.manager.served import ServedVersion
from repository_server.manager.states import UNLOADED, VersionState, VersionStatus
from repository_server.repository.config import ModelConfig


@dataclass
class LoadFailure:
    key: VersionKey
    reason: str
    since: float = field(default_factory=time.monotonic)


@dataclass
class VersionSlot:
    """One version number of a model: what serves it, what is loading, what failed."""

    version: int
    serving: ServedVersion | None = None
    loading: bool = False
    failure: LoadFailure | None = None
    # Old instances of this version draining their in-flight requests.
    retiring: list[ServedVersion] = field(default_factory=list)
    # Served once, then retired: reported UNAVAILABLE("unloaded") as Triton does.
    unloaded: bool = False
    # Why it serves on although the policy no longer selects it (nothing selected is READY);
    # remembered so that each rescan does not log it again.
    held: str | None = None

    def status(self, model: str) -> VersionStatus:
        if self.serving is not None:
            reason = ""
            if self.failure is not None:
                reason = f"a new copy failed to load, this one keeps serving: {self.failure.reason}"
            return VersionStatus(model, self.version, VersionState.READY, reason)
        if self.loading:
            return VersionStatus(model, self.version, VersionState.LOADING)
        if self.retiring:
            return VersionStatus(model, self.version, VersionState.UNLOADING)
        if self.failure is not None:
            return VersionStatus(model, self.version, VersionState.UNAVAILABLE, self.failure.reason)
        return VersionStatus(model, self.version, VersionState.UNAVAILABLE, UNLOADED)

    @property
    def empty(self) -> bool:
        return self.serving is None and not self.loading and not self.retiring


@dataclass
class ModelRecord:
    name: str
    slots: dict[int, VersionSlot] = field(default_factory=dict)
    desired: DesiredModel | None = None
    # Why nothing new of the model can load (invalid config, no versions, ...).
    problem: str | None = None
    pinned_default: int | None = None
    # READY versions by number and the default one: the hot path reads only these.
    ready: dict[int, ServedVersion] = field(default_factory=dict)
    default_version: int | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # The model folder is gone: drop the record once its versions have drained.
    forgotten: bool = False
    # Loaded by the server's start (the initial scan, --load-model), not later by a rescan, a
    # load request or a registration: TorchServe's describe shows it as loadedAtStartup.
    loaded_at_startup: bool = False

    @property
    def config(self) -> ModelConfig | None:
        return self.desired.config if self.desired else None

    def slot(self, version: int) -> VersionSlot:
        if version not in self.slots:
            self.slots[version] = VersionSlot(version)
        return self.slots[version]

    def refresh_ready(self) -> None:
        """Recomputes the READY map and the default version after any change."""
        self.ready = {
            number: slot.serving
            for number, slot in sorted(self.slots.items())
            if slot.serving is not None and slot.serving.ready
        }
        if self.pinned_default is not None and self.pinned_default in self.ready:
            self.default_version = self.pinned_default
        else:
            self.default_version = max(self.ready) if self.ready else None

    def statuses(self) -> list[VersionStatus]:
        rows = [slot.status(self.name) for _, slot in sorted(self.slots.items())]
        if self.problem is not None:
            if not rows:
                return [VersionStatus(self.name, None, VersionState.UNAVAILABLE, self.problem)]
            rows = [
                VersionStatus(
                    row.model,
                    row.version,
                    row.state,
                    row.reason or f"the loaded version keeps serving: {self.problem}",
                )
                if row.state is VersionState.READY
                else row
                for row in rows
            ]
        desired = self.desired
        if desired is not None:
            known = set(self.slots)
            rows += [
                VersionStatus(self.name, number, VersionState.UNAVAILABLE, reason)
                for number, reason in sorted(desired.incomplete.items())
                if number not in known
            ]
            rows += [
                VersionStatus(self.name, number, VersionState.UNAVAILABLE, VERSION_FOLDER_NOT_FOUND)
                for number in sorted(desired.missing)
                if number not in known
            ]
        return sorted(rows, key=lambda row: row.version or 0)

    @property
    def loading(self) -> bool:
        """A version loads for the first time (a background reload of a READY one does not count)."""
        return any(slot.loading and slot.serving is None for slot in self.slots.values())
