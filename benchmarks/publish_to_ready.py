"""Time from `mv m/.N.tmp m/N` to version N READY, in POLL mode, against the poll interval.

The watcher (inotify through watchdog) should make a version READY well before the next periodic
rescan; `--repository-poll-secs 0` (no periodic rescan at all) shows the watcher alone. The
settle time is part of the delay: a version is loaded only once its files are `settle` seconds old.

Run: .venv/bin/python -m benchmarks.publish_to_ready [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from tests import models
from tests.e2e.server_process import ServerProcess


def measure(poll_secs: float, settle_secs: float, rounds: int) -> list[float]:
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        source = models.add_model(base / "sources" / "model.onnx", 1.0)
        root = base / "repository"
        models.publish_version(root / "m", 1, source)
        server = ServerProcess(
            root,
            [
                "--repository-poll-secs",
                str(poll_secs),
                "--repository-settle-secs",
                str(settle_secs),
            ],
            log_location=base / "logs",
        ).start()
        delays: list[float] = []
        try:
            with httpx.Client(base_url=server.inference_url) as client:
                for version in range(2, rounds + 2):
                    staging = root / "m" / f".{version}.tmp"
                    staging.mkdir()
                    (staging / "model.onnx").write_bytes(source.read_bytes())
                    # Files old enough to be settled: the delay measured is the server's own.
                    time.sleep(settle_secs)
                    started = time.perf_counter()
                    staging.rename(root / "m" / str(version))
                    url = f"/v2/models/m/versions/{version}/ready"
                    while client.get(url).status_code != 200:
                        time.sleep(0.002)
                    delays.append(time.perf_counter() - started)
        finally:
            server.stop()
        return delays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--settle", type=float, default=0.5)
    arguments = parser.parse_args()
    for poll_secs in (1.0, 5.0, 0.0):
        delays = measure(poll_secs, arguments.settle, arguments.rounds)
        print(
            f"poll {poll_secs:>4} s: mv -> READY median {statistics.median(delays) * 1000:7.1f} ms,"
            f" max {max(delays) * 1000:7.1f} ms over {len(delays)} versions"
        )


if __name__ == "__main__":
    main()
