"""What the numbers came from: the machine and the versions of every server and runtime."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

from benchmarks.servers import BENCH_ENVS


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def memory_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 1024 / 1024
    return 0.0


def installed_version(env: Path | None, package: str) -> str:
    python = str(env / "bin" / "python") if env else "python"
    if env is None:
        import importlib.metadata

        try:
            return importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"
    finished = subprocess.run(
        [python, "-c", f"import importlib.metadata as m; print(m.version({package!r}))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return finished.stdout.strip() or "not installed"


def describe() -> dict[str, str]:
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)
    return {
        "cpus": str(os.cpu_count()),
        "cpu_model": cpu_model(),
        "memory_gib": f"{memory_gib():.0f}",
        "python": platform.python_version(),
        "repository-server": installed_version(None, "repository-server"),
        "onnxruntime": installed_version(None, "onnxruntime"),
        "torch": installed_version(None, "torch"),
        "torchserve": installed_version(BENCH_ENVS / "torchserve", "torchserve"),
        "mlserver": installed_version(BENCH_ENVS / "mlserver", "mlserver"),
        "wrk": (wrk.stdout + wrk.stderr).split("\n", 1)[0].strip(),
    }
