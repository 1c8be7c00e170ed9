"""Which models and versions the management API knows: those with a version that is loading,
READY, draining or failed. Unregistered ones (unloaded) are unknown again, as in TorchServe."""

from __future__ import annotations

from repository_server.errors import ModelNotFoundError, VersionNotFoundError
from repository_server.manager.manager import ModelManager
from repository_server.manager.records import ModelRecord
from repository_server.manager.states import UNLOADED, VersionState, VersionStatus


def described_rows(record: ModelRecord | None) -> list[VersionStatus]:
    """The versions a client can still ask about: all but those unloaded (unregistered)."""
    if record is None:
        return []
    return [
        row
        for row in record.statuses()
        if not (row.state is VersionState.UNAVAILABLE and row.reason == UNLOADED)
    ]


def known_record(manager: ModelManager, name: str) -> tuple[ModelRecord, list[VersionStatus]]:
    """The model's record and its known versions; ModelNotFoundError when it has none."""
    record = manager.record(name)
    rows = described_rows(record)
    if record is None or not rows:
        raise ModelNotFoundError(name)
    return record, rows


def require_version(manager: ModelManager, name: str, version: int) -> None:
    """Raises ModelNotFoundError or VersionNotFoundError unless the version is known."""
    _, rows = known_record(manager, name)
    if all(row.version != version for row in rows):
        raise VersionNotFoundError(name, version)
