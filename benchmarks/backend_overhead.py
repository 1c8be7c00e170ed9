"""Per-call overhead of each backend wrapper against the bare runtime call on the same model.

Both sides run the example mlp (batch of 1) on the same loaded runtime object, so the difference
is what the wrapper adds: input lookup, output naming, string handling, the request pool.

Run: .venv/bin/python benchmarks/backend_overhead.py [--calls 20000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from backends import registry
from backends.base import LoadedModel
from repository_server.repository.config import parse_config

EXAMPLES = Path(__file__).resolve().parents[1] / "model_repository"
EXAMPLE_OF = {"onnxruntime": "mlp", "pytorch": "mlp_torchscript", "openvino": "mlp_openvino"}
INPUTS = np.linspace(-1, 1, 4, dtype=np.float32).reshape(1, 4)


def load(backend: str) -> LoadedModel:
    folder = EXAMPLES / EXAMPLE_OF[backend]
    config = parse_config((folder / "config.json").read_text(), folder.name)
    return registry.load_function(backend)(folder / "1", config.spec())


def bare_call(backend: str, model: LoadedModel) -> Callable[[], object]:
    """The runtime's own call, on the runtime object the wrapper holds."""
    if backend == "onnxruntime":
        session = model.session  # type: ignore[attr-defined]
        return lambda: session.run(None, {"INPUT0": INPUTS})
    if backend == "pytorch":
        import torch

        module = model.module  # type: ignore[attr-defined]

        def torch_call() -> object:
            with torch.inference_mode():
                return module(torch.from_numpy(INPUTS)).numpy()

        return torch_call
    request = model.compiled.create_infer_request()  # type: ignore[attr-defined]
    port = model.compiled.outputs[0]  # type: ignore[attr-defined]
    return lambda: request.infer({"INPUT0": INPUTS}, share_inputs=True, share_outputs=False)[port]


def per_call_microseconds(call: Callable[[], object], calls: int) -> float:
    started = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - started) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    print(f"{'backend':<12} {'bare us':>9} {'wrapper us':>11} {'overhead us':>12}")
    for backend in EXAMPLE_OF:
        if importlib.util.find_spec(registry.BACKENDS[backend].package) is None:
            print(f"{backend:<12} skipped: {registry.BACKENDS[backend].package} is not installed")
            continue
        model = load(backend)
        bare = bare_call(backend, model)
        wrapped = lambda model=model: model.infer({"INPUT0": INPUTS})  # noqa: E731
        for call in (bare, wrapped):  # warm up caches and lazily built requests
            per_call_microseconds(call, options.calls // 10)
        # Alternating rounds, medians: drifts of the machine hit both sides alike.
        bare_rounds, wrapped_rounds = [], []
        for _ in range(options.repeat):
            bare_rounds.append(per_call_microseconds(bare, options.calls))
            wrapped_rounds.append(per_call_microseconds(wrapped, options.calls))
        bare_us, wrapped_us = statistics.median(bare_rounds), statistics.median(wrapped_rounds)
        print(f"{backend:<12} {bare_us:>9.1f} {wrapped_us:>11.1f} {wrapped_us - bare_us:>12.1f}")
        print(json.dumps({"backend": backend, "bare_us": bare_us, "wrapper_us": wrapped_us}))
        model.close()


if __name__ == "__main__":
    main()
