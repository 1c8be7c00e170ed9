"""The contract every backend meets: `load(version_dir, spec) -> LoadedModel`.

A backend module exposes one function, `load`, that the registry imports only when a model needs
it. `load` runs in a thread of the server's load pool, never on the event loop. The `LoadedModel`
it returns is called from several worker threads at once and must be safe for that.

Backends never import the server: what they need of a model's config arrives as a `ModelSpec`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

DYNAMIC = -1


@dataclass(frozen=True)
class TensorSpec:
    """One input or output: its name, KServe datatype (`FP32`, `BYTES`, ...) and full shape.

    The shape includes the batch dimension when the model has one; -1 marks a dynamic dimension.
    """

    name: str
    datatype: str
    shape: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


@dataclass(frozen=True)
class ModelMetadata:
    """What a loaded model takes and gives, as the model itself (or its config) describes it."""

    platform: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]

    def input(self, name: str) -> TensorSpec | None:
        return next((spec for spec in self.inputs if spec.name == name), None)

    def output(self, name: str) -> TensorSpec | None:
        return next((spec for spec in self.outputs if spec.name == name), None)


@dataclass(frozen=True)
class ModelSpec:
    """What a backend may need from the model's config.

    `inputs` and `outputs` come from config.json (full shapes, batch dimension included when
    `max_batch_size` > 0); they are empty when the config names none. Formats that carry their own
    signature (ONNX, OpenVINO IR, torch.export) take metadata from the model; TorchScript needs them.
    """

    name: str
    inputs: tuple[TensorSpec, ...] = ()
    outputs: tuple[TensorSpec, ...] = ()
    max_batch_size: int = 0
    # Triton's instance_group kind: KIND_AUTO, KIND_CPU or KIND_GPU.
    device_kind: str = "KIND_AUTO"
    gpus: tuple[int, ...] = ()
    parameters: Mapping[str, str] = field(default_factory=dict)
    # Triton's `default_model_filename`; None means the backend's usual file name.
    default_model_filename: str | None = None


class ModelLoadError(Exception):
    """A model version failed to load; the message names the file and the cause."""

    def __init__(self, path: Path | str | None, cause: str) -> None:
        self.path = Path(path) if path is not None else None
        self.cause = cause
        super().__init__(self.describe())

    def describe(self, root: Path | None = None) -> str:
        """The message, with the file shown relative to `root` (the repository) where it lies inside."""
        if self.path is None:
            return self.cause
        shown = self.path
        if root is not None and shown.is_relative_to(root):
            shown = shown.relative_to(root)
        return f"{shown}: {self.cause}"


class BackendNotInstalledError(ModelLoadError):
    """The runtime package a backend needs is not installed."""

    def __init__(self, backend: str, package: str, extra: str) -> None:
        self.backend = backend
        self.package = package
        super().__init__(
            None,
            f"backend '{backend}' needs the {package} package: "
            f"pip install repository-server[{extra}]",
        )


class InferenceInputError(ValueError):
    """The runtime rejected a request's inputs (a shape or value it cannot take): a client error."""


class LoadedModel(ABC):
    """A model version in memory, ready to run.

    `infer` is called from several worker threads at once; each backend documents how it is safe
    for that, and releases the GIL inside its runtime so the threads really run in parallel.
    """

    metadata: ModelMetadata
    # Where the model runs, as the runtime names it: "cpu", "cuda:0", "CPU", "GPU", ...
    device: str = "cpu"

    @abstractmethod
    def infer(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Runs the model on validated inputs (names, datatypes and shapes already checked)."""

    @abstractmethod
    def close(self) -> None:
        """Releases the runtime's memory; the model is never called again afterwards."""

    def describe(self) -> dict[str, Any]:
        """Backend-specific details for TorchServe's `customizedMetadata`."""
        return {}
