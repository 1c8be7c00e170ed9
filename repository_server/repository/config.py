"""The model config: Triton's ModelConfig in its JSON form (`<model>/config.json`), the supported
subset, checked against `schemas/model_config.schema.json`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from backends import registry
from backends.base import DYNAMIC, ModelSpec, TensorSpec
from backends.datatypes import from_config_type, to_config_type
from repository_server.repository.policy import VersionPolicy, policy_from_json
from repository_server.repository.validation import SchemaError, loads_strict, validate

CONFIG_FILE = "config.json"

# Parameters the server itself reads, with the check each value must pass.
INTEGER_PARAMETERS: dict[str, int] = {
    "job_queue_size": 1,
    "max_retry_timeout_secs": 0,
    "response_timeout": 1,
}


@dataclass(frozen=True)
class TensorConfig:
    """One `input` or `output` entry. `dims` exclude the batch dimension when batching is on."""

    name: str
    datatype: str
    dims: tuple[int, ...]
    label_filename: str | None = None

    def to_json(self, *, is_output: bool) -> dict[str, Any]:
        document: dict[str, Any] = {
            "name": self.name,
            "data_type": to_config_type(self.datatype),
            "dims": list(self.dims),
        }
        # Triton prints every field with its default; perf_analyzer reads some of them.
        if is_output:
            document["label_filename"] = self.label_filename or ""
            document["is_shape_tensor"] = False
        else:
            document["format"] = "FORMAT_NONE"
            document["is_shape_tensor"] = False
            document["allow_ragged_batch"] = False
            document["optional"] = False
        return document


@dataclass(frozen=True)
class InstanceGroup:
    """Where the model runs and how many workers serve each version (TorchServe's workers)."""

    kind: str = "KIND_AUTO"
    count: int = 1
    gpus: tuple[int, ...] = ()


@dataclass(frozen=True)
class DynamicBatching:
    max_queue_delay_microseconds: int = 0
    preferred_batch_size: tuple[int, ...] = ()


@dataclass(frozen=True)
class ModelConfig:
    """A model's validated config. Every field has Triton's default when config.json omits it."""

    name: str
    backend: str | None = None
    platform: str | None = None
    max_batch_size: int = 0
    inputs: tuple[TensorConfig, ...] = ()
    outputs: tuple[TensorConfig, ...] = ()
    version_policy: VersionPolicy | None = None
    instance_group: InstanceGroup | None = None
    dynamic_batching: DynamicBatching | None = None
    parameters: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    default_model_filename: str | None = None

    def integer_parameter(self, name: str, default: int) -> int:
        value = self.parameters.get(name)
        return default if value is None else int(value)

    def label_files(self) -> list[str]:
        return [output.label_filename for output in self.outputs if output.label_filename]

    def reload_key(self) -> ModelConfig:
        """The config less what applies without reloading (instance_group and version_policy).

        Two configs with equal keys can swap in place; a different key means a reload.
        """
        return replace(self, instance_group=None, version_policy=None)

    def spec(self) -> ModelSpec:
        """What the backend needs of this config: full shapes, batch dimension included."""
        batch = (DYNAMIC,) if self.max_batch_size > 0 else ()
        group = self.instance_group or InstanceGroup()
        return ModelSpec(
            name=self.name,
            inputs=tuple(TensorSpec(t.name, t.datatype, batch + t.dims) for t in self.inputs),
            outputs=tuple(TensorSpec(t.name, t.datatype, batch + t.dims) for t in self.outputs),
            max_batch_size=self.max_batch_size,
            device_kind=group.kind,
            gpus=group.gpus,
            parameters=self.parameters,
            default_model_filename=self.default_model_filename,
        )


def _tensor(document: Mapping[str, Any]) -> TensorConfig:
    return TensorConfig(
        name=document["name"],
        datatype=from_config_type(document["data_type"]),
        dims=tuple(document["dims"]),
        label_filename=document.get("label_filename") or None,
    )


def _instance_group(groups: list[Mapping[str, Any]]) -> InstanceGroup | None:
    if not groups:
        return None
    kinds = {group.get("kind", "KIND_AUTO") for group in groups}
    if len(kinds) > 1:
        raise SchemaError(
            f"instance_group: groups of different kinds are not supported: {sorted(kinds)}"
        )
    gpus = tuple(sorted({gpu for group in groups for gpu in group.get("gpus", [])}))
    return InstanceGroup(
        kind=kinds.pop(), count=sum(group.get("count", 1) for group in groups), gpus=gpus
    )


def _parameters(document: Mapping[str, Any]) -> dict[str, str]:
    # Triton writes {"key": {"string_value": "v"}}; the plain {"key": "v"} is accepted too.
    parameters = {
        key: value["string_value"] if isinstance(value, dict) else value
        for key, value in document.items()
    }
    for key, minimum in INTEGER_PARAMETERS.items():
        if key in parameters:
            text = parameters[key]
            if not text.strip().isdigit() or int(text) < minimum:
                raise SchemaError(f"parameters.{key}: {text!r} is not an integer >= {minimum}")
    return parameters


def _backend_name(document: Mapping[str, Any]) -> str | None:
    names = {}
    for key in ("backend", "platform"):
        if document.get(key):
            canonical = registry.canonical_name(document[key])
            if canonical is None:
                known = ", ".join(registry.known_names())
                raise SchemaError(f"{key}: {document[key]!r} is not a supported backend ({known})")
            names[key] = canonical
    if len(set(names.values())) > 1:
        raise SchemaError(
            f"backend: {document['backend']!r} and platform: {document['platform']!r} disagree"
        )
    return next(iter(names.values()), None)


def config_from_json(document: Any, folder_name: str) -> ModelConfig:
    """Validates a parsed config.json of the model folder `folder_name` and builds the config.

    Raises SchemaError whose message names the field (`max_batch_size: -1 is less than ...`).
    """
    validate(document, "model_config.schema.json")
    name = document.get("name", folder_name)
    if name != folder_name:
        raise SchemaError(f"name: {name!r} differs from the model folder name {folder_name!r}")
    for key in ("input", "output"):
        names = [tensor["name"] for tensor in document.get(key, [])]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise SchemaError(f"{key}: {duplicates[0]!r} appears more than once")
    batching = document.get("dynamic_batching")
    return ModelConfig(
        name=name,
        backend=_backend_name(document),
        platform=document.get("platform") or None,
        max_batch_size=document.get("max_batch_size", 0),
        inputs=tuple(_tensor(t) for t in document.get("input", [])),
        outputs=tuple(_tensor(t) for t in document.get("output", [])),
        version_policy=(
            policy_from_json(document["version_policy"]) if "version_policy" in document else None
        ),
        instance_group=_instance_group(document.get("instance_group", [])),
        dynamic_batching=(
            DynamicBatching(
                max_queue_delay_microseconds=batching.get("max_queue_delay_microseconds", 0),
                preferred_batch_size=tuple(batching.get("preferred_batch_size", [])),
            )
            if batching is not None
            else None
        ),
        parameters=MappingProxyType(_parameters(document.get("parameters", {}))),
        default_model_filename=document.get("default_model_filename") or None,
    )


def parse_config(text: str | bytes, folder_name: str) -> ModelConfig:
    """Parses config.json text (duplicate keys rejected) and validates it."""
    return config_from_json(loads_strict(text), folder_name)


def config_to_json(
    config: ModelConfig, backend: str | None, default_policy: VersionPolicy
) -> dict[str, Any]:
    """The config as Triton's GET .../config shows it: every field, defaults filled in.

    The output validates against our own schema, so it can be sent back as a load `config`.
    """
    info = registry.BACKENDS.get(backend) if backend else None
    group = config.instance_group or InstanceGroup()
    batching = config.dynamic_batching
    document: dict[str, Any] = {
        "name": config.name,
        "platform": config.platform or (info.platform if info else ""),
        "backend": backend or "",
        "runtime": "",
        "version_policy": (config.version_policy or default_policy).to_json(),
        "max_batch_size": config.max_batch_size,
        "input": [t.to_json(is_output=False) for t in config.inputs],
        "output": [t.to_json(is_output=True) for t in config.outputs],
        "instance_group": [
            {
                "name": config.name,
                "kind": "KIND_CPU" if group.kind == "KIND_AUTO" else group.kind,
                "count": group.count,
                "gpus": list(group.gpus),
                "secondary_devices": [],
                "profile": [],
                "passive": False,
                "host_policy": "",
            }
        ],
        "default_model_filename": config.default_model_filename
        or (info.model_files[0][0] if info else ""),
        "parameters": {key: {"string_value": value} for key, value in config.parameters.items()},
        "model_warmup": [],
        # perf_analyzer reads these two.
        "model_transaction_policy": {"decoupled": False},
        "response_cache": {"enable": False},
    }
    if batching is not None:
        document["dynamic_batching"] = {
            "preferred_batch_size": list(batching.preferred_batch_size),
            "max_queue_delay_microseconds": batching.max_queue_delay_microseconds,
            "preserve_ordering": False,
        }
    return document
