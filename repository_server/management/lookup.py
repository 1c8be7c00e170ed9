"""Which models and versions the management API knows: those with a version that is loading,
READY or failed. Unregistered ones (unloaded, draining or not) are unknown again, as in
TorchServe, where unregistering returns once the version is gone."""

from __future__ import annotations

from repository_server.errors import ModelNotFoundError, VersionNotFoundError
from repository_server.manager.manager import ModelManager
from repository_server.manager.records import ModelRecord
from repository_server.manager.states import UNLOADED, VersionState, VersionStatus


def described_rows(record: ModelRecord | None) -> list[VersionStatus]:
    """The versions a client can still ask about: all but those unregistered (unloaded, or
    still draining their last requests after being unloaded)."""
    if record is None:
        return []
    return [row for row in record.statuses() if not _unregistered(record, row)]


def _unregistered(record: ModelRecord, row: VersionStatus) -> bool:
    if row.state is VersionState.UNAVAILABLE and row.reason == UNLOADED:
        return True
    slot = record.slots.get(row.version) if row.version is not None else None
    return slot is not None and slot.unloaded and slot.serving is None and not slot.loading


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
