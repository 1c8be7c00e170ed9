"""TorchServe handler for the comparison: ONNX (onnxruntime) or TorchScript (torch.jit) by file.

It takes the same JSON body as our `/predictions` route, a nested list of rows, and answers the
output rows as JSON. Kept as lean as TorchServe allows, so the comparison measures the server.
TorchServe instantiates the one class defined here and calls `initialize`, then `handle`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np


class BenchmarkHandler:
    def __init__(self) -> None:
        self.run_rows: Any = None

    def initialize(self, context: Any) -> None:
        folder = Path(context.system_properties["model_dir"])
        path = str(folder / context.manifest["model"]["serializedFile"])
        if path.endswith(".onnx"):
            import onnxruntime

            session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
            input_name = session.get_inputs()[0].name

            def run_onnx(rows: np.ndarray) -> np.ndarray:
                return session.run(None, {input_name: rows})[0]

            self.run_rows = run_onnx
        else:
            import torch

            module = torch.jit.load(path).eval()

            def run_torchscript(rows: np.ndarray) -> np.ndarray:
                with torch.inference_mode():
                    return module(torch.from_numpy(rows)).numpy()

            self.run_rows = run_torchscript

    def handle(self, data: list[dict[str, Any]], context: Any) -> list[Any]:
        answers = []
        for request in data:
            body = request.get("body", request.get("data"))
            if isinstance(body, (bytes, bytearray)):
                body = json.loads(body)
            rows = np.asarray(body, dtype=np.float32)
            answers.append(self.run_rows(rows).tolist())
        return answers
