"""The runtimes called in a loop in-process, one row per call: the ceiling no server can beat.

Same files and the same default session settings as the servers use; for the heavy model also a
batch of 32 rows per call, the ceiling of what dynamic batching can reach (rows per second).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import onnxruntime
import torch

from benchmarks.workloads import (
    HEAVY,
    HEAVY_BATCHED,
    MLP_ONNX,
    MLP_TORCHSCRIPT,
    Workload,
    Workspace,
)
from benchmarks.wrk import LoadResult

SERVER = "bare runtime (in-process loop)"


@dataclass(frozen=True)
class BareResult:
    workload: Workload
    rows_per_call: int
    result: LoadResult


def _loop(call: Callable[[], object], seconds: float, rows: int) -> LoadResult:
    for _ in range(20):  # first calls allocate and pick kernels
        call()
    latencies: list[float] = []
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        before = time.perf_counter()
        call()
        after = time.perf_counter()
        latencies.append(after - before)
        if after >= deadline:
            break
    elapsed = time.perf_counter() - started
    milliseconds = np.array(latencies) * 1000
    return LoadResult(
        requests=len(latencies) * rows,
        seconds=elapsed,
        requests_per_second=len(latencies) * rows / elapsed,
        p50_ms=float(np.percentile(milliseconds, 50)),
        p99_ms=float(np.percentile(milliseconds, 99)),
        errors=0,
    )


def _onnx_call(path: str, rows: np.ndarray) -> Callable[[], object]:
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [node.name for node in session.get_outputs()]
    return lambda: session.run(names, {"INPUT0": rows})


def _torchscript_call(path: str, rows: np.ndarray) -> Callable[[], object]:
    module = torch.jit.load(path).eval()
    tensor = torch.from_numpy(rows)

    def call() -> object:
        with torch.inference_mode():
            return module(tensor).numpy()

    return call


def measure(space: Workspace, seconds: float) -> list[BareResult]:
    def rows(workload: Workload, count: int) -> np.ndarray:
        return np.tile(np.array([workload.row], dtype=np.float32), (count, 1))

    plans = [
        (MLP_ONNX, 1, _onnx_call(str(space.mlp_onnx), rows(MLP_ONNX, 1))),
        (MLP_TORCHSCRIPT, 1, _torchscript_call(str(space.mlp_torchscript), rows(MLP_ONNX, 1))),
        (HEAVY, 1, _onnx_call(str(space.heavy_onnx), rows(HEAVY, 1))),
        (HEAVY_BATCHED, 32, _onnx_call(str(space.heavy_onnx), rows(HEAVY, 32))),
    ]
    return [
        BareResult(workload, count, _loop(call, seconds, count)) for workload, count, call in plans
    ]
