"""Applying a restore plan to a started server: what the start path itself cannot restore.

The start path has already loaded the models (EXPLICIT mode: the plan's `load_model`; the other
modes: the whole repository). Here the snapshot's worker counts and pinned defaults are set, in
EXPLICIT mode the versions the snapshot had unloaded are unloaded again, and the models it names
that the repository no longer holds are reported UNAVAILABLE with the reason (TorchServe exits
instead). Each value restored is logged with the file it came from.
"""

from __future__ import annotations

import logging

from repository_server.errors import ServerError
from repository_server.management.registrations import RegistrationBook
from repository_server.manager.manager import ModelManager
from repository_server.manager.records import ModelRecord
from repository_server.model_server import ModelServer
from repository_server.settings import ControlMode
from repository_server.snapshots.restore import ModelRestore, RestorePlan

logger = logging.getLogger(__name__)


async def apply_restore(server: ModelServer, plan: RestorePlan) -> None:
    if not plan.restores_models or plan.source is None:
        return
    where = plan.source.name
    manager = server.manager
    missing = plan.unavailable(server.controller.repository_model_names())
    for name, reason in sorted(missing.items()):
        manager.report_unavailable(name, reason)
        logger.warning("model %s: UNAVAILABLE: %s; the other models are restored", name, reason)
    explicit = server.settings.model_control_mode is ControlMode.EXPLICIT
    for name, model in sorted(plan.models.items()):
        if name in missing:
            continue
        record = manager.record(name)
        if record is None or not record.ready:
            if model.loaded_versions or not explicit:
                logger.warning("model %s (in %s) serves nothing now: not restored", name, where)
            continue
        done = []
        if explicit:
            done += await _unload_versions(manager, record, model)
        done += _restore_workers(manager, record, model)
        done += _restore_default(manager, record, model, where)
        if done:
            logger.info("model %s: restored from %s: %s", name, where, "; ".join(done))


async def _unload_versions(
    manager: ModelManager, record: ModelRecord, model: ModelRestore
) -> list[str]:
    """Versions the snapshot had unloaded that loaded again with their model; the last serving
    version stays, so a restored model never serves nothing for it."""
    done = []
    for version in sorted(set(model.versions) - model.loaded_versions):
        if version in record.ready and len(record.ready) > 1:
            await manager.unload_version(record.name, version)
            done.append(f"version {version} unloaded")
    return done


def _restore_workers(manager: ModelManager, record: ModelRecord, model: ModelRestore) -> list[str]:
    done = []
    for version, entry in sorted(model.versions.items()):
        if version not in record.ready or not entry.loaded:
            continue
        workers = manager.workers_for(record, version)
        max_workers = manager.max_workers.get((record.name, version), workers)
        if (workers, max_workers) == (entry.min_workers, entry.max_workers):
            continue  # the server's own count: left to follow the model's config
        try:
            manager.scale(record.name, version, entry.min_workers, entry.max_workers)
        except ServerError as error:
            logger.warning(
                "model %s version %s: %d workers not restored: %s",
                record.name,
                version,
                entry.min_workers,
                error.message,
            )
            continue
        plural = "s" if entry.min_workers != 1 else ""
        done.append(f"version {version} {entry.min_workers} worker{plural}")
    return done


def _restore_default(
    manager: ModelManager, record: ModelRecord, model: ModelRestore, where: str
) -> list[str]:
    pinned = model.pinned_default
    if pinned is None:
        return []
    if pinned not in record.ready:
        logger.warning(
            "model %s: default version %s pinned in %s does not serve now: the highest READY "
            "version is the default",
            record.name,
            pinned,
            where,
        )
        return []
    manager.set_default(record.name, pinned)
    return [f"default version {pinned} pinned"]


def restore_registrations(
    server: ModelServer, plan: RestorePlan, registrations: RegistrationBook
) -> None:
    """Refills the registration book (URL, handler, runtime) of the models the plan restores
    that were registered, so describe and unregister treat them as before the restart."""
    where = plan.source.name if plan.source is not None else "the config snapshot"
    root = server.settings.model_repository
    for name, model in sorted(plan.models.items()):
        fields = next(
            (dict(e.registration) for e in model.versions.values() if e.registration), None
        )
        if fields is None:
            continue
        try:
            registrations.restore(name, root / name, fields)
        except ServerError as error:
            logger.warning("model %s: registration in %s not restored: %s", name, where, error)
