"""PyTorch: TorchScript (`model.pt`) and torch.export programs (`model.pt2`).

Signatures: a TorchScript file does not carry its tensors' names, datatypes or shapes, so its
metadata is config.json's `input`/`output` (required); forward() takes the inputs in the config's
order. A torch.export program carries its signature: metadata comes from the program, its tensors
named as config.json names them (in order) when it does, else INPUT0, INPUT1, ... and OUTPUT0, ...

Devices: instance_group KIND_CPU runs on the CPU; KIND_GPU needs CUDA (else a load error);
KIND_AUTO takes CUDA when torch finds a device, else the CPU. `gpus` picks the device index.

Concurrency: the module is read-only under `torch.inference_mode()`, so worker threads share it
with no lock; TorchScript's interpreter and every ATen kernel release the GIL while they compute.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.export.passes import move_to_device_pass

from backends.base import (
    InferenceInputError,
    LoadedModel,
    ModelLoadError,
    ModelMetadata,
    ModelSpec,
    TensorSpec,
)
from backends.files import config_file, model_file
from backends.memory import release_memory
from backends.signature import check_config_names, positional_names, static_dims
from backends.torch_archive import EXPORTED_PROGRAM, TORCHSCRIPT, archive_kind

PLATFORM = "pytorch_libtorch"

DATATYPES: dict[torch.dtype, str] = {
    torch.bool: "BOOL",
    torch.uint8: "UINT8",
    torch.uint16: "UINT16",
    torch.uint32: "UINT32",
    torch.uint64: "UINT64",
    torch.int8: "INT8",
    torch.int16: "INT16",
    torch.int32: "INT32",
    torch.int64: "INT64",
    torch.float16: "FP16",
    torch.float32: "FP32",
    torch.float64: "FP64",
}
SUPPORTED_DATATYPES = frozenset(DATATYPES.values())


class TorchModel(LoadedModel):
    def __init__(
        self,
        module: Any,
        path: Path,
        device: torch.device,
        metadata: ModelMetadata,
        format_name: str,
    ) -> None:
        self.module: Any = module
        self.path = path
        self.torch_device = device
        self.device = str(device)
        self.on_cpu = device.type == "cpu"
        self.metadata = metadata
        self.format_name = format_name
        self.input_names = [spec.name for spec in metadata.inputs]
        self.output_names = [spec.name for spec in metadata.outputs]

    def infer(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        module = self.module
        if module is None:
            raise RuntimeError(f"{self.path}: the model is closed")
        tensors = [self._tensor(inputs[name]) for name in self.input_names]
        try:
            with torch.inference_mode():
                result = module(*tensors)
        except torch.cuda.OutOfMemoryError:
            raise
        except (RuntimeError, AssertionError, ValueError, TypeError, IndexError) as error:
            # Inputs were checked against the metadata; what still fails is a shape or value the
            # model itself refuses (an export guard, a dimension the graph fixes).
            raise InferenceInputError(f"the model rejected the inputs: {error}") from error
        results = self._unpack(result)
        if not self.on_cpu:
            results = [tensor.cpu() for tensor in results]
        # Inference tensors carry no autograd history: numpy() needs no detach().
        return {
            name: tensor.numpy() for name, tensor in zip(self.output_names, results, strict=True)
        }

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        # torch warns on read-only buffers (bodies decoded from a request); those are copied once.
        tensor = torch.from_numpy(array if array.flags.writeable else array.copy())
        return tensor if self.on_cpu else tensor.to(self.torch_device, non_blocking=True)

    def _unpack(self, result: Any) -> Sequence[torch.Tensor]:
        if isinstance(result, torch.Tensor):
            results: Sequence[torch.Tensor] = (result,)
        elif isinstance(result, dict):
            results = [result[name] for name in self.output_names]
        else:
            results = list(result)
        if len(results) != len(self.output_names):
            raise RuntimeError(
                f"{self.path}: the model returned {len(results)} tensor(s), "
                f"metadata names {len(self.output_names)}"
            )
        return results

    def close(self) -> None:
        self.module = None
        release_memory()
        if self.torch_device.type == "cuda":
            torch.cuda.empty_cache()

    def describe(self) -> dict[str, Any]:
        return {"backend": "pytorch", "file": self.path.name, "format": self.format_name}


def load(version_dir: Path, spec: ModelSpec) -> TorchModel:
    path = model_file(version_dir, spec, ("model.pt", "model.pt2"))
    device = _device(path, spec)
    kind = archive_kind(path)
    if kind == TORCHSCRIPT:
        return _load_torchscript(path, spec, device)
    assert kind == EXPORTED_PROGRAM
    return _load_exported(path, spec, device)


def _device(path: Path, spec: ModelSpec) -> torch.device:
    if spec.device_kind == "KIND_CPU":
        return torch.device("cpu")
    if not torch.cuda.is_available():
        if spec.device_kind == "KIND_GPU":
            raise ModelLoadError(
                path,
                f"instance_group kind KIND_GPU, but torch {torch.__version__} finds no CUDA device",
            )
        return torch.device("cpu")
    index = spec.gpus[0] if spec.gpus else 0
    if index >= torch.cuda.device_count():
        raise ModelLoadError(
            path, f"instance_group gpus: no CUDA device {index} ({torch.cuda.device_count()} found)"
        )
    return torch.device("cuda", index)


def _load_torchscript(path: Path, spec: ModelSpec, device: torch.device) -> TorchModel:
    missing = [
        key for key, specs in (("input", spec.inputs), ("output", spec.outputs)) if not specs
    ]
    if missing:
        raise ModelLoadError(
            config_file(path.parent),
            f"a TorchScript model needs {' and '.join(missing)} in config.json: the file does not "
            "carry its tensors' names, datatypes and shapes",
        )
    for tensor in (*spec.inputs, *spec.outputs):
        if tensor.datatype not in SUPPORTED_DATATYPES:
            raise ModelLoadError(
                config_file(path.parent),
                f"{tensor.name!r} is {tensor.datatype}, which PyTorch tensors cannot hold",
            )
    try:
        module = torch.jit.load(str(path), map_location=device)
    except RuntimeError as error:
        raise ModelLoadError(path, f"torch.jit.load cannot load it: {error}") from error
    module.eval()
    _check_torchscript_arity(path, module, spec)
    metadata = ModelMetadata(PLATFORM, spec.inputs, spec.outputs)
    return TorchModel(module, path, device, metadata, TORCHSCRIPT)


def _check_torchscript_arity(path: Path, module: Any, spec: ModelSpec) -> None:
    schema = module.forward.schema
    arguments = schema.arguments[1:]  # the first is the module itself
    required = sum(1 for argument in arguments if not argument.has_default_value())
    if not required <= len(spec.inputs) <= len(arguments):
        raise ModelLoadError(
            path,
            f"forward() takes {len(arguments)} input(s) ({required} required) but config.json "
            f"names {len(spec.inputs)}",
        )
    returned = schema.returns[0].type
    count = len(returned.elements()) if isinstance(returned, torch.TupleType) else None
    if isinstance(returned, torch.TensorType):
        count = 1
    if count is not None and count != len(spec.outputs):
        raise ModelLoadError(
            path,
            f"forward() returns {count} tensor(s) but config.json names {len(spec.outputs)} output(s)",
        )


def _load_exported(path: Path, spec: ModelSpec, device: torch.device) -> TorchModel:
    try:
        program = torch.export.load(str(path))
    except Exception as error:  # torch raises several types for a bad archive
        raise ModelLoadError(path, f"torch.export.load cannot load it: {error}") from error
    if device.type != "cpu":
        program = move_to_device_pass(program, device)
    nodes = {node.name: node for node in program.graph.nodes}
    signature = program.graph_signature
    inputs = _exported_specs(path, "input", [nodes[n] for n in signature.user_inputs], spec.inputs)
    outputs = _exported_specs(
        path, "output", [nodes[n] for n in signature.user_outputs], spec.outputs
    )
    metadata = ModelMetadata(PLATFORM, inputs, outputs)
    return TorchModel(program.module(), path, device, metadata, EXPORTED_PROGRAM)


def _exported_specs(
    path: Path, kind: str, nodes: Sequence[Any], configured: Sequence[TensorSpec]
) -> tuple[TensorSpec, ...]:
    names = positional_names(path, kind, len(nodes), configured, kind.upper())
    specs = []
    for name, node in zip(names, nodes, strict=True):
        value = node.meta.get("val")
        if not isinstance(value, torch.Tensor):
            raise ModelLoadError(path, f"{kind} {name!r} of the program is not a tensor")
        datatype = DATATYPES.get(value.dtype)
        if datatype is None:
            raise ModelLoadError(
                path, f"{kind} {name!r} is {value.dtype}, which has no KServe datatype"
            )
        specs.append(TensorSpec(name, datatype, static_dims(value.shape)))
    check_config_names(path, kind, specs, configured)
    return tuple(specs)
