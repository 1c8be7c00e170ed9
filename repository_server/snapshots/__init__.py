"""TorchServe-style config snapshots and config.properties files: read, write, restore."""

from repository_server.snapshots.properties import (
    PropertiesError,
    format_properties,
    parse_properties,
    read_properties,
)
from repository_server.snapshots.restore import ModelRestore, RestorePlan, plan_restore
from repository_server.snapshots.snapshot import (
    ConfigSnapshot,
    ModelSnapshotEntry,
    SnapshotError,
    parse_snapshot,
    snapshot_from_properties,
)
from repository_server.snapshots.startup import (
    plan_start,
    unpack_missing_archives,
    without_missing_models,
)
from repository_server.snapshots.store import KINDS, SnapshotStore
from repository_server.snapshots.ts_config import settings_underlay, snapshot_settings
from repository_server.snapshots.writer import SnapshotWriter

__all__ = [
    "KINDS",
    "ConfigSnapshot",
    "ModelRestore",
    "ModelSnapshotEntry",
    "PropertiesError",
    "RestorePlan",
    "SnapshotError",
    "SnapshotStore",
    "SnapshotWriter",
    "format_properties",
    "parse_properties",
    "parse_snapshot",
    "plan_restore",
    "plan_start",
    "read_properties",
    "settings_underlay",
    "snapshot_from_properties",
    "snapshot_settings",
    "unpack_missing_archives",
    "without_missing_models",
]
