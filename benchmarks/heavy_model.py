"""A compute-heavier ONNX model for the comparison: a few milliseconds per single-row call.

The example repository's `heavy` runs in well under 0.1 ms on 2 cores, too little to show what
dynamic batching buys. This one is a tanh MLP 64 -> 2048 -> 2048 -> 2048 -> 16 (about 34 MB of
weights, more than the CPU caches hold): one row streams every weight from memory, a batch of
rows reuses them, so batching pays the way it does on real models. On the 2-core machine one row
takes about 1-4 ms, 32 rows about 13 ms.

Run: .venv/bin/python -m benchmarks.heavy_model OUTPUT.onnx
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

INPUT_WIDTH = 64
OUTPUT_WIDTH = 16
HIDDEN_WIDTH = 2048
HIDDEN_LAYERS = 3
OPSET = 17


def heavy_graph(
    hidden_width: int = HIDDEN_WIDTH, hidden_layers: int = HIDDEN_LAYERS
) -> onnx.GraphProto:
    widths = [INPUT_WIDTH] + [hidden_width] * hidden_layers + [OUTPUT_WIDTH]
    generator = np.random.default_rng(8)
    nodes: list[onnx.NodeProto] = []
    weights: list[onnx.TensorProto] = []
    current = "INPUT0"
    last = len(widths) - 2
    for layer, (fan_in, fan_out) in enumerate(itertools.pairwise(widths)):
        # Scaled by 1/sqrt(fan_in) so activations stay in tanh's useful range.
        matrix = generator.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)
        weights.append(numpy_helper.from_array(matrix.astype(np.float32), f"weight{layer}"))
        product = "OUTPUT0" if layer == last else f"product{layer}"
        nodes.append(helper.make_node("MatMul", [current, f"weight{layer}"], [product]))
        if layer != last:
            current = f"hidden{layer}"
            nodes.append(helper.make_node("Tanh", [product], [current]))
    return helper.make_graph(
        nodes,
        "heavy_mlp",
        [helper.make_tensor_value_info("INPUT0", TensorProto.FLOAT, ["batch", INPUT_WIDTH])],
        [helper.make_tensor_value_info("OUTPUT0", TensorProto.FLOAT, ["batch", OUTPUT_WIDTH])],
        weights,
    )


def write_heavy_model(path: Path) -> Path:
    model = helper.make_model(heavy_graph(), opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("output", type=Path, help="where to write model.onnx")
    write_heavy_model(parser.parse_args().output)


if __name__ == "__main__":
    main()
