"""Pass-through models of one datatype, in each backend's format, written into temporary folders."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from backends.datatypes import numpy_dtype

WIDTH = 3


def sample(datatype: str) -> np.ndarray:
    """Two rows of values that exercise the datatype (extremes for integers, text for BYTES)."""
    if datatype == "BYTES":
        return np.array(
            [[b"a", "\u00e9t\u00e9".encode(), b""], [b"tea", b"x" * 40, b"0"]], dtype=object
        )
    dtype = numpy_dtype(datatype)
    if dtype == np.bool_:
        return np.array([[True, False, True], [False, False, True]])
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return np.array([[info.min, 0, info.max], [1, 2, 3]], dtype=dtype)
    return np.array([[-1.5, 0.0, 65000.0], [0.25, 3.0, -7.0]], dtype=dtype)


def onnx_identity(folder: Path, datatype: str) -> Path:
    import onnx
    from onnx import TensorProto, helper

    element = (
        TensorProto.STRING
        if datatype == "BYTES"
        else helper.np_dtype_to_tensor_dtype(numpy_dtype(datatype))
    )
    graph = helper.make_graph(
        [helper.make_node("Identity", ["INPUT0"], ["OUTPUT0"])],
        "identity",
        [helper.make_tensor_value_info("INPUT0", element, ["batch", WIDTH])],
        [helper.make_tensor_value_info("OUTPUT0", element, ["batch", WIDTH])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(folder / "model.onnx"))
    return folder


def openvino_pass_through(folder: Path, datatype: str) -> Path:
    """An IR that concatenates its one input (a copy); OpenVINO IR carries every datatype."""
    import openvino as ov
    from openvino import opset13 as ops

    element = ov.Type.string if datatype == "BYTES" else ov.Type(numpy_dtype(datatype))
    parameter = ops.parameter([-1, WIDTH], element, name="INPUT0")
    parameter.output(0).set_names({"INPUT0"})
    copy = ops.concat([parameter], 0)
    copy.output(0).set_names({"OUTPUT0"})
    folder.mkdir(parents=True, exist_ok=True)
    ov.save_model(
        ov.Model([ops.result(copy)], [parameter]), str(folder / "model.xml"), compress_to_fp16=False
    )
    return folder


def exported_clone(folder: Path, datatype: str) -> Path:
    import torch

    class Clone(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.clone()

    batch = torch.export.Dim("batch", min=1, max=64)
    example = torch.from_numpy(np.resize(sample(datatype), (2, WIDTH)))
    program = torch.export.export(Clone(), (example,), dynamic_shapes=({0: batch},))
    folder.mkdir(parents=True, exist_ok=True)
    torch.export.save(program, str(folder / "model.pt2"))
    return folder


class ScriptedClone:
    """Writes a TorchScript pass-through (TorchScript needs the module's source, so it is here)."""

    @staticmethod
    def write(folder: Path) -> Path:
        import torch

        class Clone(torch.nn.Module):
            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return x.clone()

        folder.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", r"`torch\.jit\.\w+` is deprecated", DeprecationWarning
            )
            torch.jit.save(torch.jit.script(Clone()), str(folder / "model.pt"))
        return folder
