"""What the command line starts from, before the settings are built: the restore plan.

`plan_start(given)` reads `--ts-config`, else the newest good snapshot in `{LOG_LOCATION}/config`
(none with `--no-config-snapshots`). Once the settings are built from it,
`without_missing_models` drops from the models to load at start those the snapshot names but
the repository no longer holds: they are reported UNAVAILABLE after start rather than failing it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from repository_server.repository.layout import model_folder_names
from repository_server.settings import Settings
from repository_server.snapshots.restore import RestorePlan, plan_restore
from repository_server.snapshots.store import SnapshotStore


def plan_start(given: Mapping[str, Any]) -> RestorePlan:
    """`given`: the values given on the command line (`cli.parse_command_line`)."""
    store = None
    if not given.get("no_config_snapshots"):
        # Only LOG_LOCATION places the folder, so the default settings know it already.
        store = SnapshotStore(Settings().snapshot_dir)
    return plan_restore(given, given.get("ts_config"), store)


def without_missing_models(settings: Settings, plan: RestorePlan) -> Settings:
    if not plan.restores_models or not settings.load_model:
        return settings
    missing = plan.unavailable(model_folder_names(settings.model_repository))
    if not missing:
        return settings
    kept = tuple(name for name in settings.load_model if name not in missing)
    return dataclasses.replace(settings, load_model=kept)
