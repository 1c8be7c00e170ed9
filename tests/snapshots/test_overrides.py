"""Which registered values a restore lays over a model's config file, and which it leaves."""

from __future__ import annotations

import logging
from pathlib import Path

from repository_server.management.describe import batch_delay_ms
from repository_server.repository.config import ModelConfig
from repository_server.snapshots import ModelSnapshotEntry
from repository_server.snapshots.overrides import restored_overrides
from repository_server.snapshots.restore import ModelRestore, RestorePlan

BATCHING = ModelConfig(name="mlp", max_batch_size=8)
PLAIN = ModelConfig(name="mlp")


def plan(*entries: ModelSnapshotEntry) -> RestorePlan:
    versions = dict(enumerate(entries, start=1))
    models = {"mlp": ModelRestore("mlp", versions)}
    return RestorePlan(Path("x-shutdown.cfg"), {}, {}, models, restores_models=True)


def entry(**changes: object) -> ModelSnapshotEntry:
    fields: dict[str, object] = {
        "default_version": True,
        "mar_name": "mlp",
        "min_workers": 1,
        "max_workers": 1,
        "batch_size": 4,
        "max_batch_delay": 20,
        "response_timeout": 7,
        "config_override": True,
    }
    return ModelSnapshotEntry(**{**fields, **changes})  # type: ignore[arg-type]


def test_registered_values_are_laid_over_the_config_file():
    adjusted = restored_overrides(plan(entry()), 120)["mlp"](BATCHING)
    assert adjusted is not None
    assert adjusted.max_batch_size == 4
    assert batch_delay_ms(adjusted) == 20
    assert adjusted.integer_parameter("response_timeout", 0) == 7


def test_values_from_the_config_file_itself_are_not_restored():
    # Without configOverride the snapshot only echoes the config file: editing the file wins.
    assert restored_overrides(plan(entry(config_override=False)), 120) == {}
    same = entry(batch_size=1, response_timeout=120)
    assert restored_overrides(plan(same), 120)["mlp"](BATCHING) is None


def test_the_default_version_s_entry_is_the_registration_s():
    older = entry(default_version=False, batch_size=2)
    adjusted = restored_overrides(plan(older, entry()), 120)["mlp"](BATCHING)
    assert adjusted is not None and adjusted.max_batch_size == 4


def test_a_config_that_no_longer_batches_keeps_the_timeout_and_says_why(caplog):
    caplog.set_level(logging.WARNING)
    adjusted = restored_overrides(plan(entry()), 120)["mlp"](PLAIN)
    assert adjusted is not None
    assert adjusted.max_batch_size == 0
    assert adjusted.integer_parameter("response_timeout", 0) == 7
    assert "batchSize 4 in x-shutdown.cfg not restored" in caplog.text
    assert "does not batch" in caplog.text
