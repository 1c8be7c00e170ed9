"""Restoring what a registration changed in a model's config: batchSize, maxBatchDelay and
responseTimeout.

A registration's `batch_size`, `max_batch_delay` and `response_timeout` change the config of that
load only (the files stay as they are), so after a restart only the snapshot knows them. In
EXPLICIT mode (the only mode that registers) each restored model whose snapshot entry says
`configOverride` loads at start with those values laid over its config file, as the registration
did. Values equal to the config file's own are left alone, so editing the file still works for
what was not registered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from repository_server.errors import InvalidRequestError
from repository_server.management.describe import batch_delay_ms
from repository_server.management.register import RegisterRequest, config_override
from repository_server.repository.config import ModelConfig
from repository_server.snapshots.restore import ModelRestore, RestorePlan
from repository_server.snapshots.snapshot import ModelSnapshotEntry

logger = logging.getLogger(__name__)

ConfigAdjustment = Callable[[ModelConfig], ModelConfig | None]


def restored_overrides(
    plan: RestorePlan, default_response_timeout: float
) -> dict[str, ConfigAdjustment]:
    """Model name -> the change to its config at start, for the models that had one."""
    where = plan.source.name if plan.source is not None else "the config snapshot"
    adjustments: dict[str, ConfigAdjustment] = {}
    for name, model in plan.models.items():
        entry = _registered_entry(model)
        if entry is not None:
            adjustments[name] = _adjustment(name, entry, default_response_timeout, where)
    return adjustments


def _registered_entry(model: ModelRestore) -> ModelSnapshotEntry | None:
    """The entry whose values the model was registered with: its default version's (one
    registration sets them for every version)."""
    loaded = [
        (entry.default_version, version, entry)
        for version, entry in model.versions.items()
        if entry.loaded and entry.config_override
    ]
    return max(loaded, key=lambda found: found[:2])[2] if loaded else None


def _adjustment(
    name: str, entry: ModelSnapshotEntry, default_response_timeout: float, where: str
) -> ConfigAdjustment:
    def adjust(config: ModelConfig) -> ModelConfig | None:
        batch_size: int | None = None
        delay_ms: int | None = None
        if entry.batch_size > 1 and (
            entry.batch_size != config.max_batch_size
            or entry.max_batch_delay != batch_delay_ms(config)
        ):
            batch_size, delay_ms = entry.batch_size, entry.max_batch_delay
        own_timeout = config.integer_parameter("response_timeout", 0) or default_response_timeout
        timeout = entry.response_timeout if entry.response_timeout != int(own_timeout) else None
        request = RegisterRequest(
            url=name, batch_size=batch_size, max_batch_delay_ms=delay_ms, response_timeout=timeout
        )
        try:
            adjusted = config_override(config, request)
        except InvalidRequestError as error:
            logger.warning(
                "model %s: batchSize %d in %s not restored: %s",
                name,
                entry.batch_size,
                where,
                error.message,
            )
            request = RegisterRequest(url=name, response_timeout=timeout)
            adjusted = config_override(config, request)
        if adjusted is not None:
            restored = [
                f"{label} {value}"
                for label, value in (
                    ("batchSize", request.batch_size),
                    ("maxBatchDelay", request.max_batch_delay_ms),
                    ("responseTimeout", request.response_timeout),
                )
                if value is not None
            ]
            logger.info("model %s: restored from %s: %s", name, where, ", ".join(restored))
        return adjusted

    return adjust
