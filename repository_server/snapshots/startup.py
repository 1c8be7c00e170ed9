"""What the command line starts from, before the settings are built: the restore plan.

`plan_start(given)` reads `--ts-config`, else the newest good snapshot in `{LOG_LOCATION}/config`
(none with `--no-config-snapshots`). Once the settings are built from it,
`unpack_missing_archives` first unpacks the archives in `--model-store` that a snapshot names
(`marName`, TorchServe's `squeezenet.mar`) for models the repository does not hold, as TorchServe
registers them again at start; `without_missing_models` then drops from the models to load at
start those still missing: they are reported UNAVAILABLE after start rather than failing it.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

from repository_server.errors import ServerError
from repository_server.repository.layout import model_folder_names
from repository_server.settings import Settings
from repository_server.snapshots.restore import RestorePlan, plan_restore
from repository_server.snapshots.store import SnapshotStore
from repository_server.sources import DEFAULT_MAX_DOWNLOAD_BYTES, resolve_model_url
from repository_server.sources.archives import archive_suffix

logger = logging.getLogger(__name__)


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


def unpack_missing_archives(settings: Settings, plan: RestorePlan) -> None:
    """Unpacks into the repository the model-store archive each missing restored model names."""
    if not plan.restores_models or settings.model_store is None:
        return
    where = plan.source.name if plan.source is not None else "the config snapshot"
    missing = plan.unavailable(model_folder_names(settings.model_repository))
    for name in sorted(missing):
        archive = _archive_of(plan, name)
        if archive is None:
            continue
        try:
            resolve_model_url(
                archive,
                repository=settings.model_repository,
                model_store=settings.model_store,
                allowed_urls=(),  # the model store only: nothing is downloaded at start
                max_download_bytes=DEFAULT_MAX_DOWNLOAD_BYTES,
                model_name=name,
            )
        except ServerError as error:
            logger.warning(
                "model %s: archive %s named by %s not unpacked: %s", name, archive, where, error
            )
            continue
        logger.info(
            "model %s: unpacked from %s in the model store (named by %s)", name, archive, where
        )


def _archive_of(plan: RestorePlan, name: str) -> str | None:
    """The store archive a restored model came from: its registration's URL, else marName."""
    for entry in plan.models[name].versions.values():
        fields = dict(entry.registration)
        for candidate in (fields.get("modelUrl"), entry.mar_name):
            if candidate and "://" not in candidate and archive_suffix(candidate) is not None:
                return candidate
    return None
