"""Rescan time of a repository of many models (issue: 1,000 models x 3 versions well under 1 s).

Run: .venv/bin/python benchmarks/scan_speed.py [--models 1000] [--versions 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from repository_server.repository import RepositoryScanner


def build_repository(root: Path, models: int, versions: int) -> None:
    for index in range(models):
        model = root / f"model_{index:04d}"
        for version in range(1, versions + 1):
            folder = model / str(version)
            folder.mkdir(parents=True)
            (folder / "model.onnx").write_bytes(b"\0" * 256)
        (model / "config.json").write_text(
            json.dumps(
                {
                    "max_batch_size": 8,
                    "input": [{"name": "INPUT0", "data_type": "TYPE_FP32", "dims": [4]}],
                    "output": [{"name": "OUTPUT0", "data_type": "TYPE_FP32", "dims": [3]}],
                }
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--versions", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        build_repository(root, args.models, args.versions)
        scanner = RepositoryScanner(root)
        started = time.perf_counter()
        state = scanner.scan()
        first = time.perf_counter() - started
        assert len(state.models) == args.models
        rescans = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            scanner.scan()
            rescans.append(time.perf_counter() - started)
    print(f"{args.models} models x {args.versions} versions")
    print(f"first scan (configs parsed and validated): {first * 1000:.1f} ms")
    print(
        f"rescan: median {statistics.median(rescans) * 1000:.1f} ms, "
        f"max {max(rescans) * 1000:.1f} ms over {args.repeat}"
    )


if __name__ == "__main__":
    main()
