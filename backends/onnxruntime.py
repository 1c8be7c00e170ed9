"""ONNX Runtime: `model.onnx` run by an InferenceSession.

Concurrency: `InferenceSession.run` is documented thread-safe and releases the GIL while it runs,
so worker threads share one session with no lock. Metadata comes from the session itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from onnxruntime.capi.onnxruntime_pybind11_state import InvalidArgument

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
from backends.signature import check_config_names, static_dims
from backends.strings import to_bytes, to_str

PLATFORM = "onnxruntime_onnx"
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
# config.json `parameters` that size the session's thread pools (Triton's names); 0 = ORT default.
THREAD_PARAMETERS = {
    "intra_op_thread_count": "intra_op_num_threads",
    "inter_op_thread_count": "inter_op_num_threads",
}

# ONNX tensor element types as ORT names them, e.g. `tensor(float)`.
DATATYPES: dict[str, str] = {
    "tensor(bool)": "BOOL",
    "tensor(uint8)": "UINT8",
    "tensor(uint16)": "UINT16",
    "tensor(uint32)": "UINT32",
    "tensor(uint64)": "UINT64",
    "tensor(int8)": "INT8",
    "tensor(int16)": "INT16",
    "tensor(int32)": "INT32",
    "tensor(int64)": "INT64",
    "tensor(float16)": "FP16",
    "tensor(float)": "FP32",
    "tensor(double)": "FP64",
    "tensor(string)": "BYTES",
}


class OnnxRuntimeModel(LoadedModel):
    def __init__(self, session: ort.InferenceSession, path: Path, device: str) -> None:
        self.session: ort.InferenceSession | None = session
        self.path = path
        self.device = device
        self.metadata = ModelMetadata(
            PLATFORM,
            tuple(_tensor_spec(path, node) for node in session.get_inputs()),
            tuple(_tensor_spec(path, node) for node in session.get_outputs()),
        )
        self.output_names = [spec.name for spec in self.metadata.outputs]
        # ORT strings are Python str; the server's BYTES tensors hold bytes.
        self.string_inputs = {s.name for s in self.metadata.inputs if s.datatype == "BYTES"}
        self.string_outputs = {s.name for s in self.metadata.outputs if s.datatype == "BYTES"}

    def infer(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        session = self.session
        if session is None:
            raise RuntimeError(f"{self.path}: the model is closed")
        feed = {
            name: to_str(name, array) if name in self.string_inputs else array
            for name, array in inputs.items()
        }
        try:
            results = session.run(self.output_names, feed)
        except InvalidArgument as error:
            raise InferenceInputError(f"the model rejected the inputs: {error}") from error
        outputs = dict(zip(self.output_names, results, strict=True))
        for name in self.string_outputs:
            outputs[name] = to_bytes(outputs[name])
        return outputs

    def close(self) -> None:
        self.session = None
        release_memory()

    def describe(self) -> dict[str, Any]:
        providers = self.session.get_providers() if self.session is not None else []
        return {"backend": "onnxruntime", "file": self.path.name, "providers": providers}


def load(version_dir: Path, spec: ModelSpec) -> OnnxRuntimeModel:
    path = model_file(version_dir, spec, ("model.onnx",))
    options = _session_options(path, spec.parameters)
    providers = _providers(path, spec)
    try:
        session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
    except Exception as error:  # ORT's pybind errors share no base class but Exception
        raise ModelLoadError(path, f"ONNX Runtime cannot load it: {error}") from error
    active = session.get_providers()
    if spec.device_kind == "KIND_GPU" and CUDA not in active:
        raise ModelLoadError(
            path, "instance_group kind KIND_GPU, but ONNX Runtime could not start CUDA on a GPU"
        )
    device = f"cuda:{_gpu(spec)}" if CUDA in active else "cpu"
    model = OnnxRuntimeModel(session, path, device)
    check_config_names(path, "input", model.metadata.inputs, spec.inputs)
    check_config_names(path, "output", model.metadata.outputs, spec.outputs)
    return model


def _providers(path: Path, spec: ModelSpec) -> list[str | tuple[str, dict[str, Any]]]:
    """CUDA first when onnxruntime-gpu is installed, unless the config asks for the CPU."""
    has_cuda = CUDA in ort.get_available_providers()
    if spec.device_kind == "KIND_GPU" and not has_cuda:
        raise ModelLoadError(
            path,
            "instance_group kind KIND_GPU needs the CUDA provider of onnxruntime-gpu: "
            "pip install repository-server[onnx-gpu]",
        )
    if spec.device_kind == "KIND_CPU" or not has_cuda:
        return [CPU]
    return [(CUDA, {"device_id": _gpu(spec)}), CPU]


def _gpu(spec: ModelSpec) -> int:
    return spec.gpus[0] if spec.gpus else 0


def _session_options(path: Path, parameters: Mapping[str, str]) -> ort.SessionOptions:
    options = ort.SessionOptions()
    # Errors only: a CPU fallback notice per load is noise in the server log.
    options.log_severity_level = 3
    for parameter, attribute in THREAD_PARAMETERS.items():
        text = parameters.get(parameter)
        if text is None:
            continue
        if not text.strip().isdigit():
            raise ModelLoadError(path, f"parameters.{parameter}: {text!r} is not an integer >= 0")
        setattr(options, attribute, int(text))
    return options


def _tensor_spec(path: Path, node: Any) -> TensorSpec:
    datatype = DATATYPES.get(node.type)
    if datatype is None:
        raise ModelLoadError(
            path, f"{node.name!r} has type {node.type}, which has no KServe datatype"
        )
    return TensorSpec(node.name, datatype, static_dims(node.shape))
