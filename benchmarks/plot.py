"""Plots comparison.json: requests per second and p99 latency per workload, server and
concurrency. Run with the peers' environment, which has matplotlib:

    /work/bench-envs/torchserve/bin/python benchmarks/plot.py results/comparison.json out.png
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

OURS = "repository-server"
TITLES = {
    "mlp_onnx": "tiny MLP, ONNX",
    "mlp_torchscript": "tiny MLP, TorchScript",
    "heavy": "heavy MLP, no batching",
    "heavy_batched": "heavy MLP, dynamic batching",
}


def main(source: Path, target: Path) -> None:
    report = json.loads(source.read_text())
    concurrencies = report["settings"]["concurrency"]
    workloads = [key for key in TITLES if any(r["workload"] == key for r in report["measurements"])]
    figure, axes = plt.subplots(2, len(workloads), figsize=(4.2 * len(workloads), 7), squeeze=False)
    for column, key in enumerate(workloads):
        rows = [r for r in report["measurements"] if r["workload"] == key]
        servers = sorted({r["server"] for r in rows}, key=lambda s: (not s.startswith(OURS), s))
        width = 0.8 / len(servers)
        for position, server in enumerate(servers):
            by_concurrency = {r["concurrency"]: r["result"] for r in rows if r["server"] == server}
            xs = [i + position * width for i, c in enumerate(concurrencies) if c in by_concurrency]
            present = [c for c in concurrencies if c in by_concurrency]
            axes[0][column].bar(
                xs, [by_concurrency[c]["requests_per_second"] for c in present], width, label=server
            )
            axes[1][column].bar(
                xs, [by_concurrency[c]["p99_ms"] for c in present], width, label=server
            )
        for bare in report["bare"]:
            if bare["workload"] == key and bare["rows_per_call"] == 1:
                axes[0][column].axhline(
                    bare["result"]["requests_per_second"], color="grey", linestyle="--",
                    label="bare runtime, 1 row/call",
                )  # fmt: skip
        for row, label in ((0, "requests / s"), (1, "p99 latency (ms)")):
            axis = axes[row][column]
            axis.set_xticks([i + 0.4 - width / 2 for i in range(len(concurrencies))])
            axis.set_xticklabels([f"c={c}" for c in concurrencies])
            axis.set_ylabel(label)
            axis.set_yscale("log")
        axes[0][column].set_title(TITLES[key])
        axes[0][column].legend(fontsize=7)
    machine = report["machine"]
    figure.suptitle(
        f"{machine['cpus']} CPUs ({machine['cpu_model']}), 1 worker per model, wrk over loopback"
    )
    figure.tight_layout()
    figure.savefig(target, dpi=110)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
