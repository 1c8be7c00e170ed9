"""OpenVINO: an IR (`model.xml` + `model.bin`), or `model.onnx` when config.json names openvino.

Device: parameters `device` (an OpenVINO device name: CPU, GPU, GPU.1, AUTO, ...) when given;
otherwise instance_group KIND_GPU needs an OpenVINO GPU device, KIND_CPU runs on CPU, and
KIND_AUTO takes a GPU when OpenVINO lists one, else CPU. parameters `performance_hint` is passed
to the compiler (default THROUGHPUT, which sizes CPU streams for concurrent requests), and
`inference_precision` too (default f32: without it a CPU with bf16 units computes in bf16, which
moves outputs in the third decimal).

Concurrency: a compiled model serves many infer requests at once; each call borrows an idle
request from a pool (making one when all are busy) and returns it, so threads never share a
request. `InferRequest.infer` releases the GIL while it runs.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import openvino as ov

from backends.base import (
    InferenceInputError,
    LoadedModel,
    ModelLoadError,
    ModelMetadata,
    ModelSpec,
    TensorSpec,
)
from backends.files import model_file
from backends.memory import release_memory
from backends.signature import check_config_names
from backends.strings import to_bytes, to_str

PLATFORM = "openvino"
DEFAULT_HINT = "THROUGHPUT"
DEFAULT_PRECISION = "f32"

# OpenVINO element type names (`Type.get_type_name()`) and their KServe datatypes.
DATATYPES: dict[str, str] = {
    "boolean": "BOOL",
    "u8": "UINT8",
    "u16": "UINT16",
    "u32": "UINT32",
    "u64": "UINT64",
    "i8": "INT8",
    "i16": "INT16",
    "i32": "INT32",
    "i64": "INT64",
    "f16": "FP16",
    "f32": "FP32",
    "f64": "FP64",
    "string": "BYTES",
}

_core: ov.Core | None = None
_core_lock = threading.Lock()


def core() -> ov.Core:
    """The process's one OpenVINO Core (thread-safe; it caches plugins, so it is made once)."""
    global _core
    with _core_lock:
        if _core is None:
            _core = ov.Core()
        return _core


class OpenVinoModel(LoadedModel):
    def __init__(self, compiled: Any, path: Path, device: str) -> None:
        self.compiled: Any = compiled
        self.path = path
        self.device = device
        self.metadata = ModelMetadata(
            PLATFORM,
            tuple(_tensor_spec(path, port) for port in compiled.inputs),
            tuple(_tensor_spec(path, port) for port in compiled.outputs),
        )
        self.output_ports = list(compiled.outputs)
        self.output_names = [spec.name for spec in self.metadata.outputs]
        self.string_outputs = {s.name for s in self.metadata.outputs if s.datatype == "BYTES"}
        self.string_inputs = {s.name for s in self.metadata.inputs if s.datatype == "BYTES"}
        self.idle_requests: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def infer(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        compiled = self.compiled
        if compiled is None:
            raise RuntimeError(f"{self.path}: the model is closed")
        feed = {
            # OpenVINO string tensors take numpy unicode arrays (its strings are UTF-8 text).
            name: to_str(name, array).astype(np.str_) if name in self.string_inputs else array
            for name, array in inputs.items()
        }
        try:
            request = self.idle_requests.get_nowait()
        except queue.Empty:
            request = compiled.create_infer_request()
        try:
            # share_outputs=False copies the results out, so the request can be lent again.
            results = request.infer(feed, share_inputs=True, share_outputs=False)
        except RuntimeError as error:
            raise InferenceInputError(f"the model rejected the inputs: {error}") from error
        finally:
            self.idle_requests.put(request)
        outputs = {
            name: results[port]
            for name, port in zip(self.output_names, self.output_ports, strict=True)
        }
        for name in self.string_outputs:
            outputs[name] = to_bytes(np.asarray(outputs[name], dtype=object))
        return outputs

    def close(self) -> None:
        self.compiled = None
        self.idle_requests = queue.SimpleQueue()
        release_memory()

    def describe(self) -> dict[str, Any]:
        return {"backend": "openvino", "file": self.path.name, "device": self.device}


def load(version_dir: Path, spec: ModelSpec) -> OpenVinoModel:
    path = model_file(version_dir, spec, ("model.xml", "model.onnx"))
    weights = path.with_suffix(".bin")
    if path.suffix == ".xml" and not weights.is_file():
        raise ModelLoadError(path, f"its weights file {weights.name} is missing beside it")
    device = _device(path, spec)
    properties = {
        "PERFORMANCE_HINT": spec.parameters.get("performance_hint", DEFAULT_HINT),
        "INFERENCE_PRECISION_HINT": spec.parameters.get("inference_precision", DEFAULT_PRECISION),
    }
    try:
        model = core().read_model(str(path))
    except RuntimeError as error:
        raise ModelLoadError(path, f"OpenVINO cannot read it: {_cause(error)}") from error
    try:
        compiled = core().compile_model(model, device, properties)
    except RuntimeError as error:
        raise ModelLoadError(
            path, f"OpenVINO cannot compile it for {device}: {_cause(error)}"
        ) from error
    loaded = OpenVinoModel(compiled, path, device)
    check_config_names(path, "input", loaded.metadata.inputs, spec.inputs)
    check_config_names(path, "output", loaded.metadata.outputs, spec.outputs)
    return loaded


def _device(path: Path, spec: ModelSpec) -> str:
    explicit = spec.parameters.get("device")
    if explicit:
        return explicit
    if spec.device_kind == "KIND_CPU":
        return "CPU"
    gpus = [name for name in core().available_devices if name.startswith("GPU")]
    if spec.device_kind == "KIND_GPU" and not gpus:
        devices = ", ".join(core().available_devices)
        raise ModelLoadError(
            path,
            f"instance_group kind KIND_GPU, but OpenVINO finds no GPU device (it has {devices})",
        )
    if not gpus:
        return "CPU"
    return f"GPU.{spec.gpus[0]}" if spec.gpus else "GPU"


def _cause(error: Exception) -> str:
    """OpenVINO's messages start with source locations; the last non-empty line says the cause."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def _tensor_spec(path: Path, port: Any) -> TensorSpec:
    type_name = port.get_element_type().get_type_name()
    datatype = DATATYPES.get(type_name)
    names = port.get_names()
    name = port.get_any_name() if names else f"{port.get_node().get_friendly_name()}"
    if datatype is None:
        raise ModelLoadError(path, f"{name!r} has type {type_name}, which has no KServe datatype")
    shape = tuple(dim.get_length() if dim.is_static else -1 for dim in port.get_partial_shape())
    return TensorSpec(name, datatype, shape)
