"""Prometheus metrics, collected when scraped: the hot path only updates the per-version
statistics counters it keeps anyway, and this collector turns them into metrics."""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from repository_server.manager import ModelManager
from repository_server.manager.states import VersionState

_LABELS = ["model_name", "model_version", "hostname"]
NANOSECONDS_PER_MICROSECOND = 1000


class ServerCollector(Collector):
    """TorchServe's `ts_*` request metrics per model version, plus queue depth, load durations and
    versions by state."""

    def __init__(self, manager: ModelManager) -> None:
        self.manager = manager
        self.hostname = socket.gethostname()

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "ts_inference_requests", "Inference requests answered, by model version", labels=_LABELS
        )
        latency = CounterMetricFamily(
            "ts_inference_latency_microseconds",
            "Total time spent answering inference requests, in microseconds",
            labels=_LABELS,
        )
        queue = CounterMetricFamily(
            "ts_queue_latency_microseconds",
            "Total time requests waited in the job queue, in microseconds",
            labels=_LABELS,
        )
        failures = CounterMetricFamily(
            "repository_server_inference_failures",
            "Inference requests that failed inside the server",
            labels=_LABELS,
        )
        depth = GaugeMetricFamily(
            "repository_server_queue_depth", "Jobs waiting in the version's queue", labels=_LABELS
        )
        load_seconds = GaugeMetricFamily(
            "repository_server_model_load_seconds",
            "How long the serving copy of the version took to load",
            labels=_LABELS,
        )
        for served in self.manager.ready_versions():
            labels = [served.model, str(served.version), self.hostname]
            stats = served.scheduler.statistics.to_json(served.model, served.version)
            inference = stats["inference_stats"]
            success, fail = inference["success"], inference["fail"]
            requests.add_metric(labels, success["count"] + fail["count"])
            latency.add_metric(labels, (success["ns"] + fail["ns"]) / NANOSECONDS_PER_MICROSECOND)
            queue.add_metric(labels, inference["queue"]["ns"] / NANOSECONDS_PER_MICROSECOND)
            failures.add_metric(labels, fail["count"])
            depth.add_metric(labels, served.scheduler.pending)
            load_seconds.add_metric(labels, served.load_seconds)
        yield from (requests, latency, queue, failures, depth, load_seconds)
        yield self._versions_by_state()

    def _versions_by_state(self) -> Metric:
        states = GaugeMetricFamily(
            "repository_server_model_versions",
            "Model versions known to the server, by state",
            labels=["state"],
        )
        counts = Counter(row.state for row in self.manager.statuses() if row.version is not None)
        for state in VersionState:
            states.add_metric([state.value], counts.get(state, 0))
        return states
