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

from repository_server.repository.layout import is_hidden, is_valid_model_name
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
    missing = plan.unavailable(repository_model_names(settings))
    if not missing:
        return settings
    kept = tuple(name for name in settings.load_model if name not in missing)
    return dataclasses.replace(settings, load_model=kept)


def repository_model_names(settings: Settings) -> list[str]:
    """The model folders of the repository now; none when it cannot be listed (the server
    reports that itself)."""
    try:
        entries = list(settings.model_repository.iterdir())
    except OSError:
        return []
    return sorted(
        path.name
        for path in entries
        if not is_hidden(path.name) and is_valid_model_name(path.name) and path.is_dir()
    )
