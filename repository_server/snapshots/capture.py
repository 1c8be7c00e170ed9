"""The config snapshot of what a running server serves now.

Taken on the event loop, where nothing changes under it: the settings, and for every model with
a READY version its READY versions (workers, batching, timeout, default) and the versions it
unloaded on request since (`loaded: false`), so EXPLICIT mode can leave those unloaded again.
"""

from __future__ import annotations

import dataclasses

from repository_server.management.describe import batch_delay_ms
from repository_server.management.registrations import RegistrationBook
from repository_server.manager.manager import ModelManager
from repository_server.manager.records import ModelRecord
from repository_server.model_server import ModelServer
from repository_server.repository.config import ModelConfig
from repository_server.snapshots.snapshot import ConfigSnapshot, ModelSnapshotEntry
from repository_server.snapshots.ts_config import snapshot_settings


def capture(server: ModelServer, registrations: RegistrationBook | None = None) -> ConfigSnapshot:
    """`registrations`: the management API's book, whose fields (URL, handler, runtime) each
    registered model's entries carry."""
    manager = server.manager
    models: dict[str, dict[int, ModelSnapshotEntry]] = {}
    for name in manager.model_names():
        record = manager.record(name)
        if record is None or not record.ready:
            continue  # unloaded, failed or still loading: TorchServe records only served models
        versions = {
            number: _entry(
                manager, record, number, served.config, served.response_timeout, loaded=True
            )
            for number, served in record.ready.items()
        }
        config = record.config
        for number, slot in record.slots.items():
            if config is not None and slot.unloaded and slot.serving is None and not slot.loading:
                timeout = (
                    config.integer_parameter("response_timeout", 0)
                    or server.settings.response_timeout
                )
                versions[number] = _entry(manager, record, number, config, timeout, loaded=False)
        registration = registrations.get(name) if registrations is not None else None
        if registration is not None:
            fields = tuple(registration.snapshot_fields().items())
            versions = {
                number: dataclasses.replace(entry, registration=fields)
                for number, entry in versions.items()
            }
        models[name] = dict(sorted(versions.items()))
    return ConfigSnapshot(snapshot_settings(server.settings), models)


def _entry(
    manager: ModelManager,
    record: ModelRecord,
    version: int,
    config: ModelConfig,
    response_timeout: float,
    *,
    loaded: bool,
) -> ModelSnapshotEntry:
    workers = manager.workers_for(record, version)
    return ModelSnapshotEntry(
        default_version=version == record.default_version,
        # No archive here: the model folder's name stands for TorchServe's .mar file.
        mar_name=record.name,
        min_workers=workers,
        max_workers=manager.max_workers.get((record.name, version), workers),
        batch_size=max(config.max_batch_size, 1),
        max_batch_delay=batch_delay_ms(config),
        response_timeout=int(response_timeout),
        loaded=loaded,
        pinned_default=version == record.pinned_default,
        config_override=record.desired is not None and record.desired.config_overridden,
    )
