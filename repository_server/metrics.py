"""Prometheus metrics, collected when scraped: the hot path only updates the per-version
statistics counters it keeps anyway, and this collector turns them into metrics.

The text is written here, in Prometheus text format 0.0.4 as TorchServe serves it, because
prometheus_client appends `_total` to every counter: TorchServe's counters
`ts_inference_latency_microseconds` and `ts_queue_latency_microseconds` have no such suffix, and
dashboards query them by those names.
"""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Collection, Iterable, Iterator

from prometheus_client.core import Metric
from prometheus_client.utils import floatToGoString

from repository_server.manager import ModelManager
from repository_server.manager.states import VersionState

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LABELS = ("model_name", "model_version", "hostname")
NANOSECONDS_PER_MICROSECOND = 1000


class _Family:
    """One metric family whose samples carry exactly its name (no suffix added)."""

    def __init__(self, name: str, documentation: str, kind: str) -> None:
        self.metric = Metric(name, documentation, kind)

    def add(self, labels: Iterable[str], value: float) -> None:
        self.metric.add_sample(self.metric.name, dict(zip(_LABELS, labels, strict=True)), value)


class ServerCollector:
    """TorchServe's `ts_*` request metrics per model version, plus queue depth, load durations and
    versions by state."""

    def __init__(self, manager: ModelManager) -> None:
        self.manager = manager
        self.hostname = socket.gethostname()

    def collect(self) -> Iterator[Metric]:
        requests = _Family(
            "ts_inference_requests_total",
            "Inference requests answered, by model version",
            "counter",
        )
        latency = _Family(
            "ts_inference_latency_microseconds",
            "Total time spent answering inference requests, in microseconds",
            "counter",
        )
        queue = _Family(
            "ts_queue_latency_microseconds",
            "Total time requests waited in the job queue, in microseconds",
            "counter",
        )
        failures = _Family(
            "repository_server_inference_failures_total",
            "Inference requests that failed inside the server",
            "counter",
        )
        depth = _Family(
            "repository_server_queue_depth", "Jobs waiting in the version's queue", "gauge"
        )
        load_seconds = _Family(
            "repository_server_model_load_seconds",
            "How long the serving copy of the version took to load",
            "gauge",
        )
        for served in self.manager.ready_versions():
            labels = (served.model, str(served.version), self.hostname)
            stats = served.scheduler.statistics.to_json(served.model, served.version)
            inference = stats["inference_stats"]
            success, fail = inference["success"], inference["fail"]
            requests.add(labels, success["count"] + fail["count"])
            latency.add(labels, (success["ns"] + fail["ns"]) / NANOSECONDS_PER_MICROSECOND)
            queue.add(labels, inference["queue"]["ns"] / NANOSECONDS_PER_MICROSECOND)
            failures.add(labels, fail["count"])
            depth.add(labels, served.scheduler.pending)
            load_seconds.add(labels, served.load_seconds)
        for family in (requests, latency, queue, failures, depth, load_seconds):
            yield family.metric
        yield self._versions_by_state()

    def _versions_by_state(self) -> Metric:
        states = Metric(
            "repository_server_model_versions",
            "Model versions known to the server, by state",
            "gauge",
        )
        counts = Counter(row.state for row in self.manager.statuses() if row.version is not None)
        for state in VersionState:
            states.add_sample(states.name, {"state": state.value}, counts.get(state, 0))
        return states


def chosen(metrics: Iterable[Metric], names: Collection[str]) -> Iterator[Metric]:
    """The families `names` asks for (TorchServe's `name[]`), with or without a `_total`
    suffix; every family when `names` is empty."""
    if not names:
        yield from metrics
        return
    wanted = {variant for name in names for variant in (name, f"{name}_total")}
    wanted |= {name.removesuffix("_total") for name in names}
    yield from (metric for metric in metrics if metric.name in wanted)


def exposition(metrics: Iterable[Metric]) -> bytes:
    """The families in Prometheus text format 0.0.4, each sample under its own name."""
    lines: list[str] = []
    for metric in metrics:
        documentation = metric.documentation.replace("\\", r"\\").replace("\n", r"\n")
        lines.append(f"# HELP {metric.name} {documentation}")
        kind = "untyped" if metric.type == "unknown" else metric.type
        lines.append(f"# TYPE {metric.name} {kind}")
        for sample in metric.samples:
            labels = ",".join(f'{key}="{_escaped(value)}"' for key, value in sample.labels.items())
            labelled = f"{sample.name}{{{labels}}}" if labels else sample.name
            lines.append(f"{labelled} {floatToGoString(sample.value)}")
    return ("\n".join(lines) + "\n").encode() if lines else b""


def _escaped(value: str) -> str:
    return value.replace("\\", r"\\").replace('"', r"\"").replace("\n", r"\n")
