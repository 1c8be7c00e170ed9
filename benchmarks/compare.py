"""Serves the same models from repository-server, TorchServe and MLServer, drives each with wrk
at concurrency 1, 8 and 32, times the bare runtime in-process, and writes
benchmarks/results/comparison.{json,md,png}.

Run: .venv/bin/python -m benchmarks.compare [--quick]   (after bash benchmarks/setup_peers.sh)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

from benchmarks import bare_runtime, machine
from benchmarks.group_memory import group_rss_bytes
from benchmarks.report import write_markdown
from benchmarks.servers import BENCH_ENVS, SERVERS, Target
from benchmarks.workloads import prepare
from benchmarks.wrk import run_wrk

RESULTS = Path(__file__).resolve().parent / "results"


def drive(
    target: Target, concurrencies: list[int], seconds: float, warmup: float
) -> list[dict[str, Any]]:
    rows = []
    for concurrency in concurrencies:
        # Warm-up at the same concurrency: Java's JIT, ORT's first calls, connection set-up.
        run_wrk(target.url, target.body, concurrency, warmup)
        result = run_wrk(target.url, target.body, concurrency, seconds)
        print(
            f"  {target.server:<34} {target.workload.key:<16} c={concurrency:<3}"
            f" {result.requests_per_second:9.0f} req/s  p50 {result.p50_ms:7.2f} ms"
            f"  p99 {result.p99_ms:7.2f} ms  errors {result.errors}",
            flush=True,
        )
        rows.append(
            {
                "workload": target.workload.key,
                "server": target.server,
                "concurrency": concurrency,
                "result": result.to_json(),
            }
        )
    return rows


def run(arguments: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {
        "machine": machine.describe(),
        "settings": {
            "seconds": arguments.seconds,
            "warmup_seconds": arguments.warmup,
            "concurrency": arguments.concurrency,
            "workers_per_model": 1,
            "quick": arguments.quick,
        },
        "measurements": [],
        "bare": [],
        "servers": [],
    }
    with tempfile.TemporaryDirectory(prefix="benchmarks-") as folder:
        root = Path(folder)
        space = prepare(root / "space")
        print("bare runtime", flush=True)
        for bare in bare_runtime.measure(space, arguments.seconds):
            report["bare"].append(
                {
                    "workload": bare.workload.key,
                    "rows_per_call": bare.rows_per_call,
                    "result": bare.result.to_json(),
                }
            )
        for key in arguments.servers:
            server = SERVERS[key](space, root)
            print(server.name, flush=True)
            entry: dict[str, Any] = {"name": server.name, "error": None}
            started = time.perf_counter()
            try:
                server.start()
                entry["start_seconds"] = time.perf_counter() - started
                for target in server.targets():
                    report["measurements"] += drive(
                        target, arguments.concurrency, arguments.seconds, arguments.warmup
                    )
                entry["rss_mib"] = group_rss_bytes(server.pid) / 2**20
            except Exception as error:  # a peer that fails is reported, the others still run
                traceback.print_exc()
                entry["error"] = f"{type(error).__name__}: {str(error)[:500]}"
            finally:
                server.stop()
            report["servers"].append(entry)
    return report


def plot(results_json: Path, png: Path) -> None:
    """matplotlib lives in the peers' environment, never in the project's."""
    python = BENCH_ENVS / "torchserve" / "bin" / "python"
    script = Path(__file__).with_name("plot.py")
    subprocess.run([str(python), str(script), str(results_json), str(png)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 s per measurement")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each measurement")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up before each one")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--servers", nargs="+", choices=list(SERVERS), default=list(SERVERS))
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args()
    if arguments.quick:
        arguments.seconds, arguments.warmup = 2.0, 1.0
    arguments.output.mkdir(parents=True, exist_ok=True)
    report = run(arguments)
    results_json = arguments.output / "comparison.json"
    results_json.write_text(json.dumps(report, indent=2) + "\n")
    write_markdown(report, arguments.output / "comparison.md")
    plot(results_json, arguments.output / "comparison.png")
    print(f"wrote {arguments.output}/comparison.{{json,md,png}}")
    failed = [entry["name"] for entry in report["servers"] if entry["error"]]
    if failed:
        sys.exit(f"failed to measure: {', '.join(failed)}")


if __name__ == "__main__":
    main()
