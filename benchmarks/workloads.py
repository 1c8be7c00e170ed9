"""The models every server serves, the request bodies, and the workspace that holds them.

One workload is one model file asked one way: the same file goes to every server, and the body
carries one row, as a client with one item to score would send it.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.heavy_model import INPUT_WIDTH, write_heavy_model

EXAMPLES = Path(__file__).resolve().parent.parent / "model_repository"
MLP_ROW = [5.1, 3.5, 1.4, 0.2]
HEAVY_ROW = [round(index / INPUT_WIDTH, 4) for index in range(INPUT_WIDTH)]


@dataclass(frozen=True)
class Workload:
    key: str
    title: str
    row: list[float]


MLP_ONNX = Workload("mlp_onnx", "tiny MLP, ONNX (4 -> 3)", MLP_ROW)
MLP_TORCHSCRIPT = Workload("mlp_torchscript", "tiny MLP, TorchScript (4 -> 3)", MLP_ROW)
HEAVY = Workload("heavy", "heavy MLP, ONNX (64 -> 3x2048 -> 16), no batching", HEAVY_ROW)
HEAVY_BATCHED = Workload(
    "heavy_batched", "heavy MLP, ONNX, dynamic batching (ours only)", HEAVY_ROW
)
WORKLOADS = (MLP_ONNX, MLP_TORCHSCRIPT, HEAVY, HEAVY_BATCHED)


@dataclass(frozen=True)
class Workspace:
    """Model files, bodies and our repository, all under one temporary folder."""

    root: Path

    @property
    def mlp_onnx(self) -> Path:
        return self.root / "files" / "mlp.onnx"

    @property
    def mlp_torchscript(self) -> Path:
        return self.root / "files" / "mlp.pt"

    @property
    def heavy_onnx(self) -> Path:
        return self.root / "files" / "heavy.onnx"

    @property
    def repository(self) -> Path:
        return self.root / "repository"

    def v2_body(self, workload: Workload) -> Path:
        return self.root / "bodies" / f"{workload.key}.v2.json"

    def rows_body(self, workload: Workload) -> Path:
        return self.root / "bodies" / f"{workload.key}.rows.json"


def tensor_config(rows: int, inputs: int, outputs: int, **extra: Any) -> dict[str, Any]:
    return {
        "max_batch_size": rows,
        "input": [{"name": "INPUT0", "data_type": "TYPE_FP32", "dims": [inputs]}],
        "output": [{"name": "OUTPUT0", "data_type": "TYPE_FP32", "dims": [outputs]}],
        **extra,
    }


def prepare(root: Path) -> Workspace:
    space = Workspace(root)
    files = root / "files"
    files.mkdir(parents=True)
    # Version 1 of the example mlp: the TorchScript example holds the same weights.
    shutil.copyfile(EXAMPLES / "mlp" / "1" / "model.onnx", space.mlp_onnx)
    shutil.copyfile(EXAMPLES / "mlp_torchscript" / "1" / "model.pt", space.mlp_torchscript)
    write_heavy_model(space.heavy_onnx)

    models = {
        "mlp": (space.mlp_onnx, tensor_config(64, 4, 3, backend="onnxruntime")),
        "mlp_torchscript": (space.mlp_torchscript, tensor_config(64, 4, 3, backend="pytorch")),
        "heavy": (space.heavy_onnx, tensor_config(32, INPUT_WIDTH, 16, backend="onnxruntime")),
        "heavy_batched": (
            space.heavy_onnx,
            tensor_config(
                32,
                INPUT_WIDTH,
                16,
                backend="onnxruntime",
                dynamic_batching={"max_queue_delay_microseconds": 2000},
            ),
        ),
    }
    for name, (source, config) in models.items():
        version = space.repository / name / "1"
        version.mkdir(parents=True)
        shutil.copyfile(source, version / ("model.pt" if source.suffix == ".pt" else "model.onnx"))
        (space.repository / name / "config.json").write_text(json.dumps(config, indent=2))

    (root / "bodies").mkdir()
    for workload in WORKLOADS:
        v2 = {
            "inputs": [
                {
                    "name": "INPUT0",
                    "shape": [1, len(workload.row)],
                    "datatype": "FP32",
                    "data": workload.row,
                }
            ]
        }
        space.v2_body(workload).write_text(json.dumps(v2))
        space.rows_body(workload).write_text(json.dumps([workload.row]))
    return space
