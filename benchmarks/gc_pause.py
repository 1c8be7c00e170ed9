"""Is the p99 tail the garbage collector? The same server at concurrency 32 on the tiny MLP,
started as usual and started after `gc.collect(); gc.freeze()` of everything imported.

Run: .venv/bin/python -m benchmarks.gc_pause [--rounds 2] [--seconds 8]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from functools import partial
from pathlib import Path

from benchmarks.peer_process import GroupProcess, free_port
from benchmarks.servers import START_TIMEOUT, _answers
from benchmarks.workloads import MLP_ONNX, prepare
from benchmarks.wrk import run_wrk

# Imports what the server imports, moves it out of the collector's reach, then runs the CLI.
FROZEN = (
    "import gc, runpy, sys; import repository_server.cli, backends.registry, torch, onnxruntime, "
    "openvino; gc.collect(); gc.freeze(); sys.argv = ['repository_server', *sys.argv[1:]]; "
    "runpy.run_module('repository_server', run_name='__main__')"
)
STARTS = {
    "as shipped": [sys.executable, "-m", "repository_server"],
    "gc.freeze() after imports": [sys.executable, "-c", FROZEN],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=8.0)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gc-pause-") as folder:
        root = Path(folder)
        space = prepare(root / "space")
        body = space.v2_body(MLP_ONNX)
        for label, start in STARTS.items():
            port = free_port()
            command = [
                *start,
                "--model-repository", str(space.repository), "--model-control-mode", "none",
                "--http-port", str(port), "--management-port", "0", "--metrics-port", "0",
                "--no-config-snapshots",
            ]  # fmt: skip
            env = {**os.environ, "LOG_LOCATION": str(root / "logs")}
            server = GroupProcess(command, cwd=root, env=env, log=root / f"{port}.log")
            url = f"http://127.0.0.1:{port}/v2/models/mlp/infer"
            try:
                server.wait_until(partial(_answers, url, body), START_TIMEOUT, label)
                run_wrk(url, body, 32, 3)
                for _ in range(arguments.rounds):
                    result = run_wrk(url, body, 32, arguments.seconds)
                    print(
                        f"{label:<26} {result.requests_per_second:6.0f} req/s"
                        f"  p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:7.2f} ms",
                        flush=True,
                    )
            finally:
                server.stop()


if __name__ == "__main__":
    main()
