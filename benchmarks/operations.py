"""Repository operations under measurement (issue 8, item 3), written to
benchmarks/results/operations.md:

- mv of a new version folder -> that version READY (benchmarks/publish_to_ready.py);
- time and resident memory to load, then unload, 100 models in EXPLICIT mode through the
  repository API;
- rescan of 1,000 models x 3 versions (benchmarks/scan_speed.py);
- requests lost while versions are swapped under load: wrk drives the model while new versions
  are published with mv and the old ones unloaded; every non-200 counts (must be zero).

Run: .venv/bin/python -m benchmarks.operations [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks import publish_to_ready
from benchmarks.group_memory import process_rss_bytes
from benchmarks.machine import cpu_model
from benchmarks.wrk import LoadResult, run_wrk
from tests import models
from tests.e2e.server_process import ServerProcess

RESULTS = Path(__file__).resolve().parent / "results"
MIB = 2**20


def mv_to_ready(rounds: int) -> list[dict[str, Any]]:
    rows = []
    for poll_secs in (1.0, 0.0):
        delays = publish_to_ready.measure(poll_secs, 0.5, rounds)
        rows.append(
            {
                "poll_secs": poll_secs,
                "median_ms": statistics.median(delays) * 1000,
                "max_ms": max(delays) * 1000,
                "rounds": len(delays),
            }
        )
        print(f"mv -> READY, poll {poll_secs} s: {rows[-1]}", flush=True)
    return rows


def load_unload(count: int, folder: Path) -> dict[str, Any]:
    source = models.add_model(folder / "sources" / "model.onnx", 1.0)
    root = folder / "repository"
    names = [f"model_{index:03d}" for index in range(count)]
    for name in names:
        models.write_config(root / name, models.add_model_config())
        models.publish_version(root / name, 1, source)
    server = ServerProcess(root, ["--model-control-mode", "explicit"], log_location=folder)
    body = {
        "inputs": [{"name": "INPUT0", "shape": [1, 4], "datatype": "FP32", "data": [1, 2, 3, 4]}]
    }
    try:
        server.start()
        assert server.process is not None
        pid = server.process.pid
        with httpx.Client(base_url=server.inference_url, timeout=60) as client:
            before = process_rss_bytes(pid)
            started = time.perf_counter()
            for name in names:
                client.post(f"/v2/repository/models/{name}/load").raise_for_status()
            load_seconds = time.perf_counter() - started
            for name in names:  # each one really serves
                client.post(f"/v2/models/{name}/infer", json=body).raise_for_status()
            loaded = process_rss_bytes(pid)
            started = time.perf_counter()
            for name in names:
                client.post(f"/v2/repository/models/{name}/unload").raise_for_status()
            unload_seconds = time.perf_counter() - started
            index = client.post("/v2/repository/index", json={"ready": True}).json()
            if index:
                raise RuntimeError(f"models still ready after unloading all: {index}")
            unloaded = process_rss_bytes(pid)
    finally:
        server.stop()
    result = {
        "models": count,
        "load_seconds": load_seconds,
        "unload_seconds": unload_seconds,
        "rss_before_mib": before / MIB,
        "rss_loaded_mib": loaded / MIB,
        "rss_unloaded_mib": unloaded / MIB,
    }
    print(f"load/unload: {result}", flush=True)
    return result


def rescan(models_count: int) -> str:
    script = Path(__file__).with_name("scan_speed.py")
    finished = subprocess.run(
        [sys.executable, str(script), "--models", str(models_count), "--versions", "3"],
        capture_output=True,
        text=True,
        check=True,
    )
    print(finished.stdout, flush=True)
    return finished.stdout.strip()


def swap_under_load(seconds: float, folder: Path) -> dict[str, Any]:
    root = folder / "repository"
    sources = folder / "sources"
    models.write_config(root / "m", models.add_model_config())
    models.publish_version(root / "m", 1, models.add_model(sources / "1" / "model.onnx", 1.0))
    server = ServerProcess(
        root,
        ["--repository-poll-secs", "1", "--repository-settle-secs", "0.2"],
        log_location=folder,
    )
    body = folder / "body.json"
    body.write_text(
        json.dumps(
            {
                "inputs": [
                    {"name": "INPUT0", "shape": [1, 4], "datatype": "FP32", "data": [0, 0, 0, 0]}
                ]
            }
        )
    )
    outcome: dict[str, LoadResult] = {}

    def load() -> None:
        outcome["load"] = run_wrk(f"{server.inference_url}/v2/models/m/infer", body, 8, seconds)

    driver = threading.Thread(target=load)
    version = 1
    try:
        server.start()
        with httpx.Client(base_url=server.inference_url, timeout=30) as client:
            driver.start()
            deadline = time.monotonic() + seconds - 2
            while time.monotonic() < deadline:
                version += 1
                source = models.add_model(sources / str(version) / "model.onnx", float(version))
                models.publish_version(root / "m", version, source)
                ready_by = time.monotonic() + 30
                while client.get(f"/v2/models/m/versions/{version}/ready").status_code != 200:
                    if time.monotonic() > ready_by:
                        raise RuntimeError(f"version {version} not READY after 30 s")
                    time.sleep(0.01)
            driver.join()
            answer = client.post("/v2/models/m/infer", content=body.read_bytes()).json()
            served = answer["outputs"][0]["data"][0]
    finally:
        server.stop()
    result = outcome["load"]
    summary = {
        "seconds": result.seconds,
        "requests": result.requests,
        "errors": result.errors,
        "versions_published": version - 1,
        "newest_version_answers": served == float(version),
        "p99_ms": result.p99_ms,
    }
    print(f"swap under load: {summary}", flush=True)
    return summary


def write_markdown(report: dict[str, Any], path: Path) -> None:
    swap = report["swap"]
    memory = report["load_unload"]
    lines = [
        "# Repository operations",
        "",
        f"Machine: {report['cpus']} CPUs ({report['cpu_model']}). "
        "Run: `.venv/bin/python -m benchmarks.operations`.",
        "",
        "## mv of a new version folder -> READY (POLL mode, settle 0.5 s)",
        "",
        "| poll interval | median | max | versions |",
        "| --- | ---: | ---: | ---: |",
        *(
            f"| {row['poll_secs']:g} s{' (file events only)' if not row['poll_secs'] else ''} | "
            f"{row['median_ms']:.0f} ms | {row['max_ms']:.0f} ms | {row['rounds']} |"
            for row in report["mv_to_ready"]
        ),
        "",
        "Files are older than the settle time when moved, so the delay is the server's own: "
        "file event or rescan, load, READY.",
        "",
        f"## Load and unload {memory['models']} models (EXPLICIT mode, repository API, one by one)",
        "",
        "| step | time | resident memory after |",
        "| --- | ---: | ---: |",
        f"| server started, nothing loaded | - | {memory['rss_before_mib']:.0f} MiB |",
        f"| load all | {memory['load_seconds']:.2f} s "
        f"({memory['load_seconds'] / memory['models'] * 1000:.1f} ms each) | "
        f"{memory['rss_loaded_mib']:.0f} MiB |",
        f"| unload all | {memory['unload_seconds']:.2f} s "
        f"({memory['unload_seconds'] / memory['models'] * 1000:.1f} ms each) | "
        f"{memory['rss_unloaded_mib']:.0f} MiB |",
        "",
        "## Rescan of a large repository (benchmarks/scan_speed.py)",
        "",
        "```",
        report["rescan"],
        "```",
        "",
        "## Requests lost while versions are swapped under load",
        "",
        f"wrk at concurrency 8 on `/v2/models/m/infer` for {swap['seconds']:.0f} s while "
        f"{swap['versions_published']} new versions were published by `mv` (each waited READY; "
        "policy latest 1, so each swap also unloads the old version): "
        f"**{swap['errors']} failed of {swap['requests']} requests**, p99 {swap['p99_ms']:.1f} ms; "
        f"the newest version answers afterwards: {swap['newest_version_answers']}.",
        "",
    ]
    path.write_text("\n".join(lines))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run: fewer rounds")
    parser.add_argument("--output", type=Path, default=RESULTS)
    arguments = parser.parse_args()
    arguments.output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="operations-") as folder:
        base = Path(folder)
        (base / "load").mkdir()
        (base / "swap").mkdir()
        report: dict[str, Any] = {
            "cpus": str(os.cpu_count()),
            "cpu_model": cpu_model(),
            "mv_to_ready": mv_to_ready(2 if arguments.quick else 5),
            "load_unload": load_unload(20 if arguments.quick else 100, base / "load"),
            "rescan": rescan(100 if arguments.quick else 1000),
            "swap": swap_under_load(5 if arguments.quick else 15, base / "swap"),
        }
    (arguments.output / "operations.json").write_text(json.dumps(report, indent=2) + "\n")
    write_markdown(report, arguments.output / "operations.md")
    print(f"wrote {arguments.output}/operations.{{json,md}}")
    if report["swap"]["errors"]:
        sys.exit("requests were lost while versions were swapped")


if __name__ == "__main__":
    main()
