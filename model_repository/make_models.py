"""Writes the example repository's models and configs from `networks.py`, deterministically.

    .venv/bin/python -m model_repository.make_models [--output DIR]

ONNX graphs are built node by node (no exporter, so the bytes never drift between torch releases),
TorchScript is scripted from the same PyTorch definitions, and the OpenVINO IR is converted from
the ONNX file. Every config is checked with the server's own config loader before it is written.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import openvino as ov
import torch
from onnx import TensorProto, helper, numpy_helper

from model_repository import networks
from repository_server.repository.config import config_from_json

ROOT = Path(__file__).parent
OPSET = 17
IR_VERSION = 8


def tensor_config(name: str, dims: list[int]) -> dict[str, Any]:
    return {"name": name, "data_type": "TYPE_FP32", "dims": dims}


def linear_stack_graph(
    name: str,
    layers: list[tuple[str, str | None]],
    widths: tuple[int, int],
    output: str,
    activation: str,
    final: str | None,
    initializers: list[onnx.TensorProto],
    extra_nodes: list[onnx.NodeProto],
) -> onnx.GraphProto:
    """Gemm layers (weights given by name, as `networks.LinearStack` computes) on INPUT0."""
    nodes = list(extra_nodes)
    current = "INPUT0"
    last = len(layers) - 1
    for index, (weight, bias) in enumerate(layers):
        inputs = [current, weight] + ([bias] if bias else [])
        product = f"layer{index}"
        nodes.append(helper.make_node("Gemm", inputs, [product], transB=1))
        current = product
        if index < last:
            nodes.append(helper.make_node(activation, [current], [f"{product}_active"]))
            current = f"{product}_active"
    if final:
        nodes.append(helper.make_node(final, [current], [f"{current}_{final.lower()}"], axis=-1))
        current = f"{current}_{final.lower()}"
    nodes.append(helper.make_node("Identity", [current], [output]))
    return helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("INPUT0", TensorProto.FLOAT, ["batch", widths[0]])],
        [helper.make_tensor_value_info(output, TensorProto.FLOAT, ["batch", widths[1]])],
        initializers,
    )


def stored_weights_graph(
    name: str,
    weights: networks.Weights,
    activation: str,
    output: str = "OUTPUT0",
    final: str | None = None,
) -> onnx.GraphProto:
    initializers = []
    layers: list[tuple[str, str | None]] = []
    for index, (weight, bias) in enumerate(weights):
        initializers += [
            numpy_helper.from_array(weight, f"weight{index}"),
            numpy_helper.from_array(bias, f"bias{index}"),
        ]
        layers.append((f"weight{index}", f"bias{index}"))
    widths = (weights[0][0].shape[1], weights[-1][0].shape[0])
    return linear_stack_graph(name, layers, widths, output, activation, final, initializers, [])


def heavy_graph() -> onnx.GraphProto:
    """The heavy model computes its weights from `networks.heavy_weight_formula` at load time."""
    widths = networks.HEAVY_WIDTHS
    nodes: list[onnx.NodeProto] = []
    initializers = [
        numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
        numpy_helper.from_array(np.array(1.0, np.float32), "one"),
    ]
    layers: list[tuple[str, str | None]] = []
    for layer in range(len(widths) - 1):
        rows, cols = widths[layer + 1], widths[layer]
        frequency, phase, scale = networks.heavy_weight_formula(layer, cols)
        prefix = f"w{layer}"
        initializers += [
            numpy_helper.from_array(np.array(rows * cols, np.float32), f"{prefix}_count"),
            numpy_helper.from_array(np.array(frequency, np.float32), f"{prefix}_frequency"),
            numpy_helper.from_array(np.array(phase, np.float32), f"{prefix}_phase"),
            numpy_helper.from_array(np.array(scale, np.float32), f"{prefix}_scale"),
            numpy_helper.from_array(np.array([rows, cols], np.int64), f"{prefix}_shape"),
        ]
        nodes += [
            helper.make_node("Range", ["zero", f"{prefix}_count", "one"], [f"{prefix}_positions"]),
            helper.make_node(
                "Mul", [f"{prefix}_positions", f"{prefix}_frequency"], [f"{prefix}_angles"]
            ),
            helper.make_node("Add", [f"{prefix}_angles", f"{prefix}_phase"], [f"{prefix}_shifted"]),
            helper.make_node("Sin", [f"{prefix}_shifted"], [f"{prefix}_sines"]),
            helper.make_node("Mul", [f"{prefix}_sines", f"{prefix}_scale"], [f"{prefix}_flat"]),
            helper.make_node("Reshape", [f"{prefix}_flat", f"{prefix}_shape"], [prefix]),
        ]
        layers.append((prefix, None))
    return linear_stack_graph(
        "heavy", layers, (widths[0], widths[-1]), "OUTPUT0", "Tanh", None, initializers, nodes
    )


def save_onnx(graph: onnx.GraphProto, path: Path) -> None:
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="repository-server make_models",
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())


def save_torchscript(module: torch.nn.Module, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # TorchScript is deprecated upstream but still what Triton's PyTorch backend loads.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"`torch\.jit\.\w+` is deprecated", DeprecationWarning)
        torch.jit.save(torch.jit.script(module), str(path))
    stable_serialization_id(path)


def stable_serialization_id(path: Path) -> None:
    """torch writes a random `.data/serialization_id` (a log tag) into every archive; it is
    replaced, in place and with its CRC, by digits of a hash of the other records."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        infos = archive.infolist()
        record = next(i for i in infos if i.filename.endswith(".data/serialization_id"))
        contents = b"".join(archive.read(i) for i in infos if i is not record)
    if record.compress_type != zipfile.ZIP_STORED:
        raise RuntimeError(f"{path}: unexpected zip layout; cannot make it reproducible")
    size = record.file_size
    stable = f"{int(hashlib.sha256(contents).hexdigest(), 16) % 10**size:0{size}d}".encode()
    crc = struct.pack("<I", zlib.crc32(stable))
    name_length, extra_length = struct.unpack_from("<HH", data, record.header_offset + 26)
    start = record.header_offset + 30 + name_length + extra_length
    data[start : start + size] = stable
    if record.flag_bits & 0x08:  # the CRC follows the data, in a descriptor
        descriptor = (
            start + size + (4 if data[start + size : start + size + 4] == b"PK\x07\x08" else 0)
        )
        data[descriptor : descriptor + 4] = crc
    else:
        data[record.header_offset + 14 : record.header_offset + 18] = crc
    # The central directory repeats the CRC, 16 bytes into the entry that names this record.
    (central,) = struct.unpack_from("<I", data, data.rindex(b"PK\x05\x06") + 16)
    entry = data.index(record.filename.encode(), central) - 46
    data[entry + 16 : entry + 20] = crc
    path.write_bytes(bytes(data))


def save_openvino_ir(onnx_path: Path, xml_path: Path) -> None:
    xml_path.parent.mkdir(parents=True, exist_ok=True)
    model = ov.Core().read_model(str(onnx_path))
    # Nodes the converter adds are named from a process-wide counter (Multiply_5418); numbering
    # them in graph order keeps the IR the same however many models the process made before.
    for index, node in enumerate(model.get_ordered_ops()):
        if re.fullmatch(rf"{node.get_type_name()}_\d+", node.get_friendly_name()):
            node.set_friendly_name(f"{node.get_type_name()}_{index}")
    ov.save_model(model, str(xml_path), compress_to_fp16=False)


def write_config(folder: Path, document: dict[str, Any]) -> None:
    config_from_json(document, folder.name)  # refuses a config the server would refuse
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(document, indent=2) + "\n")


def mlp_config(backend: str, **extra: Any) -> dict[str, Any]:
    return {
        "backend": backend,
        "max_batch_size": 64,
        "input": [tensor_config("INPUT0", [4])],
        "output": [tensor_config("OUTPUT0", [3])],
        **extra,
    }


def make_mlp(root: Path) -> None:
    folder = root / "mlp"
    for version in networks.MLP_VERSIONS:
        save_onnx(
            stored_weights_graph("mlp", networks.mlp_weights(version), "Relu"),
            folder / str(version) / "model.onnx",
        )
    write_config(folder, mlp_config("onnxruntime", version_policy={"latest": {"num_versions": 2}}))


def make_mlp_torchscript(root: Path) -> None:
    folder = root / "mlp_torchscript"
    save_torchscript(networks.mlp_module(1), folder / "1" / "model.pt")
    write_config(folder, mlp_config("pytorch"))


def make_mlp_openvino(root: Path) -> None:
    folder = root / "mlp_openvino"
    source = root / "mlp" / "1" / "model.onnx"
    save_openvino_ir(source, folder / "1" / "model.xml")
    write_config(folder, mlp_config("openvino"))


def make_classifier(root: Path) -> None:
    folder = root / "classifier"
    graph = stored_weights_graph(
        "classifier", networks.classifier_weights(), "Relu", "PROBABILITIES", "Softmax"
    )
    save_onnx(graph, folder / "1" / "model.onnx")
    (folder / "labels.txt").write_text("\n".join(networks.LABELS) + "\n")
    output = {**tensor_config("PROBABILITIES", [3]), "label_filename": "labels.txt"}
    write_config(
        folder,
        {
            "backend": "onnxruntime",
            "max_batch_size": 8,
            "input": [tensor_config("INPUT0", [4])],
            "output": [output],
        },
    )


def make_heavy(root: Path) -> None:
    folder = root / "heavy"
    save_onnx(heavy_graph(), folder / "1" / "model.onnx")
    write_config(
        folder,
        {
            "backend": "onnxruntime",
            "max_batch_size": 32,
            "input": [tensor_config("INPUT0", [64])],
            "output": [tensor_config("OUTPUT0", [16])],
            "dynamic_batching": {"max_queue_delay_microseconds": 2000},
        },
    )


MAKERS: tuple[Callable[[Path], None], ...] = (
    make_mlp,
    make_mlp_torchscript,
    make_mlp_openvino,  # after make_mlp: converted from its ONNX file
    make_classifier,
    make_heavy,
)


def make_all(root: Path = ROOT) -> None:
    for make in MAKERS:
        make(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output", type=Path, default=ROOT, help="repository folder (default: beside this script)"
    )
    make_all(parser.parse_args().output)


if __name__ == "__main__":
    main()
