"""Tiny real ONNX models written by tests into temporary repositories."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def _save(graph: onnx.GraphProto, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def add_model(path: Path, addend: float, width: int = 4) -> Path:
    """OUTPUT0 = INPUT0 + addend, FP32 [batch, width]: the output tells versions apart."""
    graph = helper.make_graph(
        [helper.make_node("Add", ["INPUT0", "addend"], ["OUTPUT0"])],
        "add",
        [helper.make_tensor_value_info("INPUT0", TensorProto.FLOAT, ["batch", width])],
        [helper.make_tensor_value_info("OUTPUT0", TensorProto.FLOAT, ["batch", width])],
        [numpy_helper.from_array(np.array([addend], dtype=np.float32), "addend")],
    )
    return _save(graph, path)


def slow_model(path: Path, size: int = 512, rounds: int = 24, width: int = 4) -> Path:
    """A compute-bound model (repeated large matrix products) whose output is INPUT0 + 1.

    It runs for tens of milliseconds per call on a small CPU, long enough to hold a worker busy.
    """
    # The square matrix depends on the input (times zero), so no constant folding at load.
    nodes = [
        helper.make_node("ReduceSum", ["INPUT0"], ["input_total"], keepdims=0),
        helper.make_node("Mul", ["input_total", "zero"], ["input_zero"]),
        helper.make_node("Add", ["input_zero", "small"], ["scale"]),
        helper.make_node("Expand", ["scale", "square_shape"], ["square"]),
    ]
    current = "square"
    for index in range(rounds):
        nodes.append(helper.make_node("MatMul", [current, "square"], [f"product{index}"]))
        current = f"product{index}"
    nodes += [
        helper.make_node("ReduceSum", [current], ["total"], keepdims=0),
        helper.make_node("Mul", ["total", "zero"], ["nothing"]),
        helper.make_node("Add", ["INPUT0", "nothing"], ["shifted"]),
        helper.make_node("Add", ["shifted", "one"], ["OUTPUT0"]),
    ]
    graph = helper.make_graph(
        nodes,
        "slow",
        [helper.make_tensor_value_info("INPUT0", TensorProto.FLOAT, ["batch", width])],
        [helper.make_tensor_value_info("OUTPUT0", TensorProto.FLOAT, ["batch", width])],
        [
            numpy_helper.from_array(np.array([size, size], dtype=np.int64), "square_shape"),
            numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
            numpy_helper.from_array(np.array(0.001, dtype=np.float32), "small"),
            numpy_helper.from_array(np.array([1.0], dtype=np.float32), "one"),
        ],
    )
    return _save(graph, path)


def write_config(model_folder: Path, document: dict[str, Any]) -> Path:
    model_folder.mkdir(parents=True, exist_ok=True)
    path = model_folder / "config.json"
    path.write_text(json.dumps(document))
    return path


def add_model_config(max_batch_size: int = 8, **extra: Any) -> dict[str, Any]:
    return {
        "max_batch_size": max_batch_size,
        "input": [{"name": "INPUT0", "data_type": "TYPE_FP32", "dims": [4]}],
        "output": [{"name": "OUTPUT0", "data_type": "TYPE_FP32", "dims": [4]}],
        **extra,
    }


def publish_version(model_folder: Path, version: int, source: Path) -> Path:
    """Copies a model file to a hidden staging folder, then renames it into place atomically."""
    staging = model_folder / f".{version}.tmp"
    staging.mkdir(parents=True)
    shutil.copy(source, staging / source.name)
    target = model_folder / str(version)
    staging.rename(target)
    return target


def large_model(path: Path, megabytes: int = 64, width: int = 4) -> Path:
    """OUTPUT0 = INPUT0 + 1, carrying `megabytes` of weights the runtime must keep in memory
    (the weights are multiplied by a value computed from the input, so nothing folds away)."""
    count = megabytes * 1024 * 1024 // 4
    weights = np.full(count, 0.5, dtype=np.float32)
    nodes = [
        helper.make_node("ReduceSum", ["INPUT0"], ["input_total"], keepdims=0),
        helper.make_node("Mul", ["input_total", "zero"], ["input_zero"]),
        helper.make_node("Mul", ["weights", "input_zero"], ["scaled"]),
        helper.make_node("ReduceSum", ["scaled"], ["nothing"], keepdims=0),
        helper.make_node("Add", ["INPUT0", "nothing"], ["shifted"]),
        helper.make_node("Add", ["shifted", "one"], ["OUTPUT0"]),
    ]
    graph = helper.make_graph(
        nodes,
        "large",
        [helper.make_tensor_value_info("INPUT0", TensorProto.FLOAT, ["batch", width])],
        [helper.make_tensor_value_info("OUTPUT0", TensorProto.FLOAT, ["batch", width])],
        [
            numpy_helper.from_array(weights, "weights"),
            numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero"),
            numpy_helper.from_array(np.array([1.0], dtype=np.float32), "one"),
        ],
    )
    return _save(graph, path)
