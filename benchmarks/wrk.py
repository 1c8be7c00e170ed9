"""Drives one URL with wrk (POST, a fixed body) and reads back the JSON line of wrk_post.lua."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("wrk_post.lua")


@dataclass(frozen=True)
class LoadResult:
    requests: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: run `bash benchmarks/setup_peers.sh` first")
    return found


def run_wrk(
    url: str,
    body: Path,
    concurrency: int,
    seconds: float,
    content_type: str = "application/json",
) -> LoadResult:
    """`concurrency` connections, each sending its next request as soon as the last is answered.

    Two wrk threads at most: the machine has few cores and the servers need them.
    """
    command = [
        wrk_path(),
        f"--threads={min(concurrency, 2)}",
        f"--connections={concurrency}",
        f"--duration={max(1, round(seconds))}s",
        "--timeout=10s",
        f"--script={SCRIPT}",
        url,
    ]
    env = {**os.environ, "WRK_BODY_FILE": str(body), "WRK_CONTENT_TYPE": content_type}
    finished = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    lines = [line for line in finished.stdout.splitlines() if line.startswith("{")]
    if finished.returncode != 0 or not lines:
        raise RuntimeError(
            f"wrk failed against {url} (status {finished.returncode}):\n"
            f"{finished.stdout}\n{finished.stderr}"
        )
    report = json.loads(lines[-1])
    duration = report["duration_us"] / 1e6
    errors = sum(
        report[key]
        for key in ("connect_errors", "read_errors", "write_errors", "timeouts", "non_2xx")
    )
    return LoadResult(
        requests=report["requests"],
        seconds=duration,
        requests_per_second=report["requests"] / duration,
        p50_ms=report["p50_us"] / 1000,
        p99_ms=report["p99_us"] / 1000,
        errors=errors,
    )
