"""Process RSS before loading, while serving and after closing a model of tens of MB, per backend.

Each backend runs in a fresh child process, so one runtime's heap never blurs another's numbers.
The model is one FP32 matrix product with a `--megabytes` weight (ONNX for onnxruntime and
OpenVINO, TorchScript for PyTorch). `close()` should bring RSS back near where it started (the
runtime library itself stays mapped).

Run: .venv/bin/python benchmarks/backend_memory.py [--megabytes 64]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

from backends import registry
from backends.base import ModelSpec, TensorSpec

PAGE = 4096


def rss_megabytes() -> float:
    with Path("/proc/self/statm").open() as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * PAGE / 2**20


def weight(megabytes: int) -> np.ndarray:
    side = int((megabytes * 2**20 / 4) ** 0.5)
    return np.random.default_rng(0).standard_normal((side, side)).astype(np.float32)


def write_onnx(folder: Path, matrix: np.ndarray) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    side = matrix.shape[0]
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["INPUT0", "weight"], ["OUTPUT0"])],
        "big",
        [helper.make_tensor_value_info("INPUT0", TensorProto.FLOAT, ["batch", side])],
        [helper.make_tensor_value_info("OUTPUT0", TensorProto.FLOAT, ["batch", side])],
        [numpy_helper.from_array(matrix, "weight")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(folder / "model.onnx"))


def write_torchscript(folder: Path, matrix: np.ndarray) -> None:
    import torch

    class Big(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = torch.nn.Parameter(torch.from_numpy(matrix), requires_grad=False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x @ self.weight

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(Big()), str(folder / "model.pt"))


def measure(backend: str, folder: Path, side: int) -> dict[str, float]:
    """Runs in the child: load, infer, close, measuring RSS at each step."""
    load = registry.load_function(backend)  # imports the runtime before the baseline
    spec = ModelSpec(
        "big",
        inputs=(TensorSpec("INPUT0", "FP32", (-1, side)),),
        outputs=(TensorSpec("OUTPUT0", "FP32", (-1, side)),),
        max_batch_size=8,
    )
    inputs = np.ones((8, side), np.float32)
    baseline = rss_megabytes()
    model = load(folder, spec)
    model.infer({"INPUT0": inputs})
    loaded = rss_megabytes()
    model.close()
    del model
    closed = rss_megabytes()
    return {"baseline_mb": baseline, "loaded_mb": loaded, "closed_mb": closed}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=64)
    parser.add_argument(
        "--child", nargs=3, metavar=("BACKEND", "FOLDER", "SIDE"), help=argparse.SUPPRESS
    )
    options = parser.parse_args()
    if options.child:
        backend, folder, side = options.child
        print(json.dumps(measure(backend, Path(folder), int(side))))
        return
    matrix = weight(options.megabytes)
    with tempfile.TemporaryDirectory() as root:
        onnx_folder, torch_folder = Path(root, "onnx"), Path(root, "torch")
        onnx_folder.mkdir()
        torch_folder.mkdir()
        write_onnx(onnx_folder, matrix)
        print(f"model: {options.megabytes} MB weight ({matrix.shape[0]} x {matrix.shape[1]} FP32)")
        print(
            f"{'backend':<12} {'before MB':>10} {'loaded MB':>10} {'closed MB':>10} {'kept MB':>8}"
        )
        for backend, folder in (
            ("onnxruntime", onnx_folder),
            ("pytorch", torch_folder),
            ("openvino", onnx_folder),
        ):
            if importlib.util.find_spec(registry.BACKENDS[backend].package) is None:
                print(
                    f"{backend:<12} skipped: {registry.BACKENDS[backend].package} is not installed"
                )
                continue
            if backend == "pytorch" and not (folder / "model.pt").exists():
                write_torchscript(folder, matrix)
            command = [
                sys.executable,
                __file__,
                "--child",
                backend,
                str(folder),
                str(matrix.shape[0]),
            ]
            result = json.loads(
                subprocess.run(command, check=True, capture_output=True, text=True).stdout
            )
            kept = result["closed_mb"] - result["baseline_mb"]
            print(
                f"{backend:<12} {result['baseline_mb']:>10.1f} {result['loaded_mb']:>10.1f} "
                f"{result['closed_mb']:>10.1f} {kept:>8.1f}"
            )


if __name__ == "__main__":
    main()
