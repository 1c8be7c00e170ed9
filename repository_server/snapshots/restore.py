"""What to start from: a `--ts-config` file, else the newest good snapshot, else nothing.

The plan is pure data for the server to apply: settings for `cli.build_settings(
plan.command_line, plan.underlay)` (command-line flags win over the file), the models to restore
with their versions, workers and pinned defaults, and the log lines that say where each value
came from. Restoring a file that holds a `model_snapshot` ignores `--load-model` and the file's
`load_models`: the snapshot says which models run. In EXPLICIT mode the underlay's `load_model`
names the snapshot's loaded models, so the usual start path loads them.

`--no-config-snapshots` stops the automatic restore (and the caller writes none); a file named by
`--ts-config` is still read, since it was asked for, as TorchServe does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from repository_server.errors import ConfigurationError
from repository_server.settings import ControlMode, default_of
from repository_server.snapshots.properties import decode_properties, parse_properties
from repository_server.snapshots.snapshot import (
    ConfigSnapshot,
    ModelSnapshotEntry,
    is_ours,
    parse_snapshot,
    snapshot_from_properties,
)
from repository_server.snapshots.store import SnapshotStore
from repository_server.snapshots.ts_config import MODEL_SNAPSHOT_KEY, settings_underlay


@dataclass(frozen=True)
class ModelRestore:
    """One model of the snapshot: its versions as recorded."""

    name: str
    versions: Mapping[int, ModelSnapshotEntry]

    @property
    def loaded_versions(self) -> frozenset[int]:
        return frozenset(v for v, entry in self.versions.items() if entry.loaded)

    @property
    def workers(self) -> dict[int, int]:
        """Worker count per version (TorchServe starts minWorkers)."""
        return {version: entry.min_workers for version, entry in self.versions.items()}

    @property
    def pinned_default(self) -> int | None:
        """The version set-default pinned, if any."""
        pinned = [v for v, entry in self.versions.items() if entry.pinned_default]
        return max(pinned) if pinned else None

    def describe(self) -> str:
        parts = [
            f"v{version}: {entry.min_workers} worker{'s' if entry.min_workers != 1 else ''}"
            + ("" if entry.loaded else ", not loaded")
            for version, entry in sorted(self.versions.items())
        ]
        if self.pinned_default is not None:
            parts.append(f"default {self.pinned_default} pinned")
        return f"{self.name} ({'; '.join(parts)})"


@dataclass(frozen=True)
class RestorePlan:
    # The file the settings and models come from; None when starting from the defaults.
    source: Path | None
    # The command-line values that apply (minus `load_model` when a snapshot is restored).
    command_line: Mapping[str, Any]
    # Settings field -> value from the file; the command line wins over it.
    underlay: Mapping[str, Any]
    models: Mapping[str, ModelRestore] = field(default_factory=dict)
    # True when the file holds a model_snapshot: its models, not --load-model, are restored.
    restores_models: bool = False
    # (logging level, message) in the order they should be logged.
    messages: tuple[tuple[int, str], ...] = ()

    def unavailable(self, repository_models: Iterable[str]) -> dict[str, str]:
        """Models the snapshot names that the repository no longer has, with the reason to
        report them UNAVAILABLE (TorchServe exits instead; we restore the rest)."""
        present = set(repository_models)
        where = self.source.name if self.source else "the config snapshot"
        return {
            name: f"named by config snapshot {where} but not in the model repository"
            for name in self.models
            if name not in present
        }

    def log(self, logger: logging.Logger) -> None:
        for level, message in self.messages:
            logger.log(level, message)


def plan_restore(
    given: Mapping[str, Any], ts_config_path: Path | None, store: SnapshotStore | None
) -> RestorePlan:
    """`given`: the values given on the command line (`cli.parse_command_line`). `store`: the
    snapshot folder, or None where snapshots are off."""
    if ts_config_path is not None:
        properties, snapshot = _read_ts_config(ts_config_path)
        return _plan(given, ts_config_path, properties, snapshot, "--ts-config")
    if given.get("no_config_snapshots") or store is None:
        message = "config snapshots are off (--no-config-snapshots): nothing restored"
        return RestorePlan(None, dict(given), {}, messages=((logging.INFO, message),))
    found = store.newest_valid()
    if found is None:
        message = f"no config snapshot in {store.directory}: starting from the defaults"
        return RestorePlan(None, dict(given), {}, messages=((logging.INFO, message),))
    path, snapshot = found
    return _plan(given, path, snapshot.settings, snapshot, "config snapshot")


def _read_ts_config(path: Path) -> tuple[dict[str, str], ConfigSnapshot | None]:
    try:
        text = decode_properties(path.read_bytes())
    except OSError as error:
        raise ConfigurationError(
            f"--ts-config: cannot read {str(path)!r}: {error.strerror or error}"
        ) from None
    if is_ours(text):
        # One of our snapshots: it must be whole.
        snapshot = parse_snapshot(text, str(path))
        return dict(snapshot.settings), snapshot
    properties = parse_properties(text, str(path))
    if MODEL_SNAPSHOT_KEY in properties:
        return properties, snapshot_from_properties(properties, str(path))
    return properties, None


def _plan(
    given: Mapping[str, Any],
    path: Path,
    properties: Mapping[str, str],
    snapshot: ConfigSnapshot | None,
    what: str,
) -> RestorePlan:
    messages: list[tuple[int, str]] = []
    underlay, unknown = settings_underlay(properties, str(path))
    command_line = dict(given)
    for key in unknown:
        messages.append((logging.WARNING, f"{path}: unknown key {key!r} ignored"))
    models: dict[str, ModelRestore] = {}
    mode = given.get("model_control_mode", underlay.get("model_control_mode"))
    mode = mode or default_of("model_control_mode")
    if snapshot is not None:
        messages.insert(0, (logging.INFO, f"restoring {what} {path}"))
        models = {name: ModelRestore(name, versions) for name, versions in snapshot.models.items()}
        if underlay.pop("load_model", None):
            messages.append((logging.INFO, f"load_models in {path} ignored: restoring a snapshot"))
        if command_line.pop("load_model", None):
            messages.append((logging.INFO, f"--load-model ignored: restoring {path}"))
        if mode is ControlMode.EXPLICIT:
            underlay["load_model"] = tuple(
                sorted(name for name, model in models.items() if model.loaded_versions)
            )
        if models:
            shown = ", ".join(model.describe() for model in models.values())
            messages.append((logging.INFO, f"models restored from {path.name}: {shown}"))
        else:
            messages.append((logging.INFO, f"the model snapshot in {path.name} is empty"))
    else:
        messages.insert(0, (logging.INFO, f"starting from {what} {path}"))
        if underlay.get("load_model") and mode is not ControlMode.EXPLICIT:
            del underlay["load_model"]
            messages.append(
                (logging.INFO, f"load_models in {path} ignored: {mode} mode loads every model")
            )
    messages.extend(_provenance(command_line, underlay, path))
    return RestorePlan(path, command_line, underlay, models, snapshot is not None, tuple(messages))


def _provenance(
    command_line: Mapping[str, Any], underlay: Mapping[str, Any], path: Path
) -> list[tuple[int, str]]:
    """Which values came from the file, and which of its values the command line overrode."""
    messages = []
    applied = [
        name
        for name in underlay
        if name not in command_line and name != "load_model" and underlay[name] != default_of(name)
    ]
    if applied:
        shown = ", ".join(f"{name}={_shown(underlay[name])}" for name in applied)
        messages.append(
            (logging.INFO, f"settings from {path.name} (where not the defaults): {shown}")
        )
    overridden = [
        name for name in underlay if name in command_line and command_line[name] != underlay[name]
    ]
    if overridden:
        shown = ", ".join(
            f"{name}={_shown(command_line[name])} (file: {_shown(underlay[name])})"
            for name in overridden
        )
        messages.append((logging.INFO, f"the command line wins over {path.name}: {shown}"))
    return messages


def _shown(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(map(str, value)) or "none"
    return str(value)
