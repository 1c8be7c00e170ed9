"""Where repository-server spends its time under load: py-spy samples the server while wrk drives
the tiny ONNX MLP, and the samples are summed per function (own time and time including callees).

Run: .venv/bin/python -m benchmarks.profile_server [--concurrency 32] [--seconds 10]
Writes benchmarks/results/profile.md; py-spy comes from the peers' environment (setup_peers.sh).
"""

from __future__ import annotations

import argparse
import re
import subprocess
import tempfile
import threading
from collections import Counter
from pathlib import Path

from benchmarks.servers import BENCH_ENVS, RepositoryServer
from benchmarks.workloads import MLP_ONNX, prepare
from benchmarks.wrk import LoadResult, run_wrk

RESULTS = Path(__file__).resolve().parent / "results"
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")


def short_frame(frame: str) -> str:
    """`infer (/work/main/repository_server/x.py:12)` -> `repository_server/x.py:infer`."""
    match = FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["file"]
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{path}:{match['function']}"


def summarise(raw: str) -> tuple[int, Counter[str], Counter[str]]:
    total = 0
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [short_frame(frame) for frame in stack.split(";")]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    return total, own, inclusive


def record(concurrency: int, seconds: float) -> tuple[str, LoadResult]:
    py_spy = BENCH_ENVS / "torchserve" / "bin" / "py-spy"
    with tempfile.TemporaryDirectory(prefix="profile-") as folder:
        root = Path(folder)
        space = prepare(root / "space")
        server = RepositoryServer(space, root)
        server.start()
        target = server.targets()[0]
        assert target.workload is MLP_ONNX
        try:
            run_wrk(target.url, target.body, concurrency, 3)  # warm-up
            outcome: dict[str, LoadResult] = {}
            driver = threading.Thread(
                target=lambda: outcome.update(
                    load=run_wrk(target.url, target.body, concurrency, seconds + 2)
                )
            )
            driver.start()
            samples = root / "samples.txt"
            subprocess.run(
                [
                    str(py_spy), "record", "--pid", str(server.pid), "--duration", str(int(seconds)),
                    "--rate", "250", "--format", "raw", "--output", str(samples), "--nonblocking",
                ],
                check=True,
                capture_output=True,
            )  # fmt: skip
            driver.join()
            return samples.read_text(), outcome["load"]
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args()
    raw, load = record(arguments.concurrency, arguments.seconds)
    total, own, inclusive = summarise(raw)

    def table(counter: Counter[str]) -> list[str]:
        rows = ["| share of samples | function |", "| ---: | --- |"]
        for name, count in counter.most_common(arguments.top):
            rows.append(f"| {count / total:.1%} | `{name}` |")
        return rows

    lines = [
        "# Where repository-server spends its time",
        "",
        f"py-spy (250 Hz, all threads, idle excluded) for {arguments.seconds:g} s while wrk drives "
        f"`/v2/models/mlp/infer` (tiny ONNX MLP) at concurrency {arguments.concurrency}: "
        f"{load.requests_per_second:.0f} req/s, p50 {load.p50_ms:.2f} ms, p99 {load.p99_ms:.2f} ms "
        f"(slower than unprofiled: py-spy shares the CPUs). {total} samples.",
        "",
        "## Including callees",
        "",
        *table(inclusive),
        "",
        "## Own time",
        "",
        *table(own),
        "",
    ]
    arguments.output.mkdir(parents=True, exist_ok=True)
    (arguments.output / "profile.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
