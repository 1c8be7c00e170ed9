"""Backend names, the files each needs, and lazy import of the backend a model asks for."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from backends.base import BackendNotInstalledError, LoadedModel, ModelSpec

LoadFunction = Callable[[Path, ModelSpec], LoadedModel]


@dataclass(frozen=True)
class BackendInfo:
    """One backend: the module that implements it and the runtime package that module needs."""

    name: str
    module: str
    package: str
    extra: str
    platform: str
    # Each tuple is one complete set of model files the backend can load, in order of preference.
    model_files: tuple[tuple[str, ...], ...]


BACKENDS: dict[str, BackendInfo] = {
    "onnxruntime": BackendInfo(
        "onnxruntime",
        "backends.onnxruntime",
        "onnxruntime",
        "onnx",
        "onnxruntime_onnx",
        (("model.onnx",),),
    ),
    "pytorch": BackendInfo(
        "pytorch",
        "backends.torch",
        "torch",
        "torch",
        "pytorch_libtorch",
        (("model.pt",), ("model.pt2",)),
    ),
    "openvino": BackendInfo(
        "openvino",
        "backends.openvino",
        "openvino",
        "openvino",
        "openvino",
        (("model.xml", "model.bin"), ("model.onnx",)),
    ),
}

# Other names users write in `backend` or `platform`, mapped to ours.
ALIASES: dict[str, str] = {
    "torch": "pytorch",
    "onnx": "onnxruntime",
    "onnxruntime_onnx": "onnxruntime",
    "pytorch_libtorch": "pytorch",
    "torch_aoti": "pytorch",
}

# Triton's auto-detection order when the config names no backend.
DETECTION_ORDER: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("onnxruntime", ("model.onnx",)),
    ("openvino", ("model.xml", "model.bin")),
    ("pytorch", ("model.pt",)),
    ("pytorch", ("model.pt2",)),
)


def canonical_name(name: str) -> str | None:
    """Our name for a backend or platform name (`torch` -> `pytorch`), or None if unknown."""
    lowered = name.lower()
    if lowered in BACKENDS:
        return lowered
    return ALIASES.get(lowered)


def known_names() -> list[str]:
    return sorted({*BACKENDS, *ALIASES})


def detect(file_names: Collection[str]) -> str | None:
    """The backend whose model files are among `file_names` (a version folder's), or None."""
    for backend, needed in DETECTION_ORDER:
        if all(name in file_names for name in needed):
            return backend
    return None


def expected_files(backend: str, default_model_filename: str | None = None) -> list[str]:
    """The file names a version folder of this backend must hold, as alternatives in words."""
    if default_model_filename:
        return [default_model_filename]
    return [" + ".join(files) for files in BACKENDS[backend].model_files]


def has_model_files(
    backend: str, file_names: Collection[str], default_model_filename: str | None = None
) -> bool:
    """Whether a version folder holding `file_names` has a complete set of the backend's files."""
    if default_model_filename:
        return default_model_filename in file_names
    return any(all(f in file_names for f in files) for files in BACKENDS[backend].model_files)


def load_function(backend: str) -> LoadFunction:
    """Imports the backend's module (only now) and returns its `load`.

    Raises BackendNotInstalledError when the runtime package is missing, so the model is reported
    UNAVAILABLE with an install hint while the server runs on.
    """
    info = BACKENDS[backend]
    if importlib.util.find_spec(info.package) is None:
        raise BackendNotInstalledError(backend, info.package, info.extra)
    try:
        module = importlib.import_module(info.module)
    except ImportError as error:
        if error.name and error.name.split(".")[0] == info.package:
            raise BackendNotInstalledError(backend, info.package, info.extra) from error
        raise
    load: LoadFunction = module.load
    return load
