"""The config snapshot: the settings as config keys and TorchServe's `model_snapshot` JSON.

On disk (TorchServe's form, one `key=value` per line; `model_snapshot` is the last key, its JSON
on one line, and the file ends with the line `# end of config snapshot`)::

    inference_address=http://127.0.0.1:8080
    model_control_mode=explicit
    model_version_policy={"latest": {"num_versions": 1}}
    ...
    model_snapshot={"name": "20250101120000000-snapshot.cfg", "modelCount": 1, "created": 1735732800000, "models": {"mlp": {"2": {"defaultVersion": true, "marName": "mlp", "minWorkers": 3, "maxWorkers": 3, "batchSize": 1, "maxBatchDelay": 100, "responseTimeout": 120, "loaded": true, "pinnedDefault": true}}}}
    # end of config snapshot

TorchServe's fields per version: `defaultVersion`, `marName`, `minWorkers`, `maxWorkers`,
`batchSize`, `maxBatchDelay` (ms), `responseTimeout` (s). Ours, beside them:

- `loaded`: the version was loaded (what EXPLICIT mode restores); absent in TorchServe's files,
  where it means true.
- `pinnedDefault`: set-default pinned this version (otherwise the default is the highest READY
  version, and `defaultVersion` only records which one that was).
- `configOverride`: batchSize, maxBatchDelay and responseTimeout came from a registration, not
  from the model's config file (only those are restored).
- `modelUrl`, `sourceKind`, `handler`, `runtimeType` (TorchServe names the last one too): what a
  registration gave, so the registration is known again after a restart.
- the control mode and version policy are settings keys (`model_control_mode`,
  `model_version_policy`), not JSON fields.

Versions are written as integers (`"2"`); TorchServe's `"2.0"` reads as 2. The end marker tells
a complete file from a truncated one: a file cut anywhere lacks it (or its JSON does not parse).
TorchServe's own snapshots have no marker: a file that does not begin with our header line is
read as TorchServe's, whole when its `model_snapshot` JSON parses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from repository_server.errors import ConfigurationError
from repository_server.repository.layout import is_valid_model_name
from repository_server.snapshots.properties import (
    PropertiesError,
    format_properties,
    parse_properties,
)
from repository_server.snapshots.ts_config import MODEL_SNAPSHOT_KEY

END_MARKER = "# end of config snapshot"
HEADER = "repository-server config snapshot (TorchServe config.properties form)"
# TorchServe's defaults for fields its older snapshots lack.
DEFAULT_RESPONSE_TIMEOUT = 120
_VERSION_KEY = re.compile(r"([1-9][0-9]*)(?:\.0+)?")


class SnapshotError(ConfigurationError):
    """A snapshot file that is corrupt, truncated or malformed; the message names the file."""


# Per-version keys a registration adds (Registration.snapshot_fields).
REGISTRATION_KEYS = ("modelUrl", "sourceKind", "handler", "runtimeType")


@dataclass(frozen=True)
class ModelSnapshotEntry:
    """One served version as the snapshot records it."""

    default_version: bool
    mar_name: str
    min_workers: int
    max_workers: int
    batch_size: int = 1
    max_batch_delay: int = 100
    response_timeout: int = DEFAULT_RESPONSE_TIMEOUT
    loaded: bool = True
    pinned_default: bool = False
    # Whether batchSize, maxBatchDelay and responseTimeout came from a registration (or a load's
    # config override) rather than the model's config file: only those are restored.
    config_override: bool = False
    # The registration's own fields (`modelUrl`, `sourceKind`, `handler`, `runtimeType`).
    registration: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "defaultVersion": self.default_version,
            "marName": self.mar_name,
            "minWorkers": self.min_workers,
            "maxWorkers": self.max_workers,
            "batchSize": self.batch_size,
            "maxBatchDelay": self.max_batch_delay,
            "responseTimeout": self.response_timeout,
            "loaded": self.loaded,
            "pinnedDefault": self.pinned_default,
            "configOverride": self.config_override,
            **dict(self.registration),
        }

    @classmethod
    def from_json(
        cls, document: Any, where: str, *, from_torchserve: bool = False
    ) -> ModelSnapshotEntry:
        """Reads one version's JSON; `where` (`models.mlp.2`) prefixes every error.
        `from_torchserve`: TorchServe's file, whose batching and timeout came from registrations
        and so are restored (it has no `configOverride` key)."""
        if not isinstance(document, dict):
            raise ValueError(f"{where}: expected an object, got {_shown(document)}")
        return cls(
            default_version=_required(document, "defaultVersion", bool, where),
            mar_name=_required(document, "marName", str, where),
            min_workers=_required(document, "minWorkers", int, where),
            max_workers=_required(document, "maxWorkers", int, where),
            batch_size=_required(document, "batchSize", int, where),
            max_batch_delay=_required(document, "maxBatchDelay", int, where),
            response_timeout=_optional(
                document, "responseTimeout", int, DEFAULT_RESPONSE_TIMEOUT, where
            ),
            loaded=_optional(document, "loaded", bool, True, where),
            pinned_default=_optional(document, "pinnedDefault", bool, False, where),
            config_override=_optional(document, "configOverride", bool, from_torchserve, where),
            registration=tuple(
                (key, _optional(document, key, str, None, where))
                for key in REGISTRATION_KEYS
                if document.get(key) is not None
            ),
        )


def _required(document: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in document:
        raise ValueError(f"{where}: {key} is missing")
    return _optional(document, key, kind, None, where)


def _optional(document: dict[str, Any], key: str, kind: type, default: Any, where: str) -> Any:
    if key not in document:
        return default
    value = document[key]
    # bool is an int in Python; a JSON `true` is no worker count.
    fits = isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
    if kind is int and fits and value < 0:
        fits = False
    if not fits:
        wanted = {bool: "true or false", int: "a non-negative integer", str: "a string"}[kind]
        raise ValueError(f"{where}.{key}: expected {wanted}, got {_shown(value)}")
    return value


def _shown(value: Any) -> str:
    return json.dumps(value)[:60]


@dataclass(frozen=True)
class ConfigSnapshot:
    """Settings as config keys (`inference_address`, `model_control_mode`, ...) and the served
    versions, {model: {version: entry}}. A model with no versions left is simply absent."""

    settings: Mapping[str, str]
    models: Mapping[str, Mapping[int, ModelSnapshotEntry]] = field(default_factory=dict)
    # The file name and the time (epoch ms) written into the JSON; set when read back.
    name: str = ""
    created: int = 0

    @property
    def model_count(self) -> int:
        """TorchServe's modelCount: the number of (model, version) pairs."""
        return sum(len(versions) for versions in self.models.values())

    def model_snapshot_json(self, name: str, created: int) -> dict[str, Any]:
        return {
            "name": name,
            "modelCount": self.model_count,
            "created": created,
            "models": {
                model: {str(version): entry.to_json() for version, entry in versions.items()}
                for model, versions in self.models.items()
            },
        }

    def to_text(self, name: str, created: int) -> str:
        """The file's text: settings, then `model_snapshot`, then the end marker."""
        if MODEL_SNAPSHOT_KEY in self.settings:
            raise ValueError(f"settings must not hold {MODEL_SNAPSHOT_KEY}")
        document = self.model_snapshot_json(name, created)
        properties = {**self.settings, MODEL_SNAPSHOT_KEY: json.dumps(document)}
        return format_properties(properties, comments=[HEADER]) + END_MARKER + "\n"


def parse_snapshot(
    text: str, source: str, *, require_end_marker: bool | None = None
) -> ConfigSnapshot:
    """Reads a snapshot's text; SnapshotError names `source` and what is wrong.

    The end marker is required of the files we write (None: when the text begins with our
    header), never of TorchServe's."""
    if require_end_marker is None:
        require_end_marker = is_ours(text)
    if require_end_marker and _last_line(text) != END_MARKER:
        raise SnapshotError(f"{source}: truncated: the line {END_MARKER!r} does not end it")
    try:
        properties = parse_properties(text, source)
    except PropertiesError as error:
        raise SnapshotError(str(error)) from None
    return snapshot_from_properties(properties, source, from_torchserve=not is_ours(text))


def is_ours(text: str) -> bool:
    """Whether the text begins as every snapshot this server writes begins."""
    return text.startswith(f"# {HEADER}\n")


def _last_line(text: str) -> str:
    lines = text.rstrip("\r\n").splitlines()
    return lines[-1].strip() if lines else ""


def snapshot_from_properties(
    properties: Mapping[str, str], source: str, *, from_torchserve: bool = True
) -> ConfigSnapshot:
    """A snapshot from a properties mapping that holds `model_snapshot`; `from_torchserve`:
    written by TorchServe, not by this server."""
    if MODEL_SNAPSHOT_KEY not in properties:
        raise SnapshotError(f"{source}: no {MODEL_SNAPSHOT_KEY} key")
    try:
        document = json.loads(properties[MODEL_SNAPSHOT_KEY])
        models = _models_from_json(document, from_torchserve)
    except ValueError as error:
        raise SnapshotError(f"{source}: {MODEL_SNAPSHOT_KEY}: {error}") from None
    settings = {key: value for key, value in properties.items() if key != MODEL_SNAPSHOT_KEY}
    name = document.get("name")
    created = document.get("created")
    return ConfigSnapshot(
        settings=settings,
        models=models,
        name=name if isinstance(name, str) else "",
        created=created if isinstance(created, int) and not isinstance(created, bool) else 0,
    )


def _models_from_json(
    document: Any, from_torchserve: bool
) -> dict[str, dict[int, ModelSnapshotEntry]]:
    if not isinstance(document, dict):
        raise ValueError(f"expected a JSON object, got {_shown(document)}")
    models = document.get("models", {})
    if not isinstance(models, dict):
        raise ValueError(f"models: expected an object, got {_shown(models)}")
    result: dict[str, dict[int, ModelSnapshotEntry]] = {}
    for model, versions in models.items():
        if not is_valid_model_name(model):
            raise ValueError(f"models: {model!r} is not a model name ([A-Za-z0-9_.-]+)")
        if not isinstance(versions, dict):
            raise ValueError(f"models.{model}: expected an object, got {_shown(versions)}")
        result[model] = {}
        for key, entry in versions.items():
            match = _VERSION_KEY.fullmatch(key)
            if match is None:
                raise ValueError(
                    f"models.{model}: version {key!r} is not a positive integer (2 or 2.0)"
                )
            version = int(match.group(1))
            if version in result[model]:
                raise ValueError(f"models.{model}: version {version} is given twice")
            result[model][version] = ModelSnapshotEntry.from_json(
                entry, f"models.{model}.{key}", from_torchserve=from_torchserve
            )
    return result
