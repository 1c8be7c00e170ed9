"""The Markdown table of a comparison run: per workload, server and concurrency, with our ratio
to each peer, and the issue's targets checked against the numbers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.bare_runtime import SERVER as BARE
from benchmarks.workloads import HEAVY, HEAVY_BATCHED, MLP_ONNX, WORKLOADS

OURS = "repository-server"
PEERS = ("TorchServe", "MLServer")


def _index(report: dict[str, Any]) -> dict[tuple[str, str, int], dict[str, Any]]:
    return {
        (row["workload"], row["server"], row["concurrency"]): row["result"]
        for row in report["measurements"]
    }


def _ratio(ours: dict[str, Any] | None, other: dict[str, Any] | None) -> str:
    if not ours or not other or not other["requests_per_second"]:
        return "-"
    return f"{ours['requests_per_second'] / other['requests_per_second']:.2f}x"


def _targets(report: dict[str, Any]) -> list[str]:
    index = _index(report)
    top = max(report["settings"]["concurrency"])
    lines = []
    ours = index.get((MLP_ONNX.key, OURS, top))
    for peer in PEERS:
        theirs = index.get((MLP_ONNX.key, peer, top))
        if not ours or not theirs:
            lines.append(f"- tiny MLP at c={top}, ours vs {peer}: not measured")
            continue
        ratio = ours["requests_per_second"] / theirs["requests_per_second"]
        met = ratio >= 2 and ours["p99_ms"] < theirs["p99_ms"]
        lines.append(
            f"- tiny MLP (ONNX) at c={top}, ours vs {peer}: {ratio:.2f}x the req/s "
            f"({ours['requests_per_second']:.0f} vs {theirs['requests_per_second']:.0f}), p99 "
            f"{ours['p99_ms']:.1f} ms vs {theirs['p99_ms']:.1f} ms: "
            f"**{'met' if met else 'NOT met'}** (target: >= 2x and a lower p99)"
        )
    batched = index.get((HEAVY_BATCHED.key, OURS, top))
    unbatched = index.get((HEAVY.key, OURS, top))
    if batched and unbatched:
        ratio = batched["requests_per_second"] / unbatched["requests_per_second"]
        lines.append(
            f"- heavy MLP at c={top}, dynamic batching vs none (ours): {ratio:.2f}x "
            f"({batched['requests_per_second']:.0f} vs {unbatched['requests_per_second']:.0f} "
            f"req/s): **{'met' if ratio >= 3 else 'NOT met'}** (target: >= 3x)"
        )
    return lines


def _workload_table(report: dict[str, Any], key: str) -> list[str]:
    index = _index(report)
    servers = sorted(
        {row["server"] for row in report["measurements"] if row["workload"] == key},
        key=lambda name: (not name.startswith(OURS), name),
    )
    lines = [
        "| server | concurrency | req/s | p50 ms | p99 ms | errors | ours ÷ this (req/s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for bare in report["bare"]:
        if bare["workload"] == key:
            result = bare["result"]
            unit = "rows/s" if bare["rows_per_call"] > 1 else "calls/s"
            lines.append(
                f"| {BARE}, {bare['rows_per_call']} row(s) per call | 1 | "
                f"{result['requests_per_second']:.0f} {unit} | {result['p50_ms']:.3f} | "
                f"{result['p99_ms']:.3f} | 0 | - |"
            )
    for server in servers:
        for concurrency in report["settings"]["concurrency"]:
            result = index.get((key, server, concurrency))
            if result is None:
                continue
            ours = index.get((key, OURS, concurrency))
            ratio = "-" if server == OURS else _ratio(ours, result)
            lines.append(
                f"| {server} | {concurrency} | {result['requests_per_second']:.0f} | "
                f"{result['p50_ms']:.2f} | {result['p99_ms']:.2f} | {result['errors']} | {ratio} |"
            )
    if key == HEAVY_BATCHED.key:
        lines.append("")
        lines.append(
            "Batched ÷ unbatched (ours): "
            + ", ".join(
                f"c={c} {_ratio(index.get((key, OURS, c)), index.get((HEAVY.key, OURS, c)))}"
                for c in report["settings"]["concurrency"]
            )
        )
    return lines


def write_markdown(report: dict[str, Any], path: Path) -> None:
    machine = report["machine"]
    settings = report["settings"]
    lines = [
        "# repository-server vs TorchServe vs MLServer vs the bare runtime",
        "",
        f"Machine: {machine['cpus']} CPUs ({machine['cpu_model']}), {machine['memory_gib']} GiB; "
        f"Python {machine['python']}. Versions: repository-server {machine['repository-server']}, "
        f"TorchServe {machine['torchserve']}, MLServer {machine['mlserver']}, onnxruntime "
        f"{machine['onnxruntime']}, torch {machine['torch']}, {machine['wrk']}.",
        "",
        f"wrk over loopback, one row per request, {settings['seconds']:g} s per measurement after a "
        f"{settings['warmup_seconds']:g} s warm-up at the same concurrency; "
        f"{settings['workers_per_model']} worker per model on every server; the load generator "
        "shares the CPUs with the server."
        + (" **Quick smoke run: not for comparison.**" if settings["quick"] else ""),
        "",
        "## Targets (issue 8)",
        "",
        *_targets(report),
        "",
    ]
    for workload in WORKLOADS:
        lines += [f"## {workload.title}", "", *_workload_table(report, workload.key), ""]
    lines += [
        "## Servers",
        "",
        "| server | start to serving every model (s) | resident memory after the runs (MiB) | error |",
        "| --- | ---: | ---: | --- |",
    ]
    for entry in report["servers"]:
        start = f"{entry['start_seconds']:.1f}" if "start_seconds" in entry else "-"
        memory = f"{entry['rss_mib']:.0f}" if "rss_mib" in entry else "-"
        lines.append(f"| {entry['name']} | {start} | {memory} | {entry['error'] or ''} |")
    path.write_text("\n".join(lines) + "\n")
