"""The metrics text: Prometheus 0.0.4, every sample under its family's exact name (TorchServe's
counters have no `_total`), and the `name[]` choice of families."""

from __future__ import annotations

from prometheus_client.core import Metric

from repository_server.metrics import CONTENT_TYPE, chosen, exposition


def families() -> list[Metric]:
    latency = Metric("ts_inference_latency_microseconds", "Total time, in microseconds", "counter")
    latency.add_sample(
        latency.name, {"model_name": "mlp", "model_version": "1", "hostname": "h"}, 1266.206
    )
    requests = Metric("ts_inference_requests_total", "Requests", "counter")
    requests.add_sample(
        requests.name, {"model_name": "mlp", "model_version": "1", "hostname": "h"}, 3
    )
    odd = Metric("repository_server_queue_depth", 'Jobs "waiting"\\ne', "gauge")
    odd.add_sample(odd.name, {"hostname": 'a"b\\c\nd'}, 0)
    return [latency, requests, odd]


def test_counters_keep_their_exact_names() -> None:
    text = exposition(families()).decode()
    assert text.splitlines()[:6] == [
        "# HELP ts_inference_latency_microseconds Total time, in microseconds",
        "# TYPE ts_inference_latency_microseconds counter",
        'ts_inference_latency_microseconds{model_name="mlp",model_version="1",hostname="h"} '
        "1266.206",
        "# HELP ts_inference_requests_total Requests",
        "# TYPE ts_inference_requests_total counter",
        'ts_inference_requests_total{model_name="mlp",model_version="1",hostname="h"} 3.0',
    ]
    assert "_microseconds_total" not in text


def test_help_and_label_values_are_escaped() -> None:
    text = exposition(families()).decode()
    assert '# HELP repository_server_queue_depth Jobs "waiting"\\\\ne' in text
    assert 'repository_server_queue_depth{hostname="a\\"b\\\\c\\nd"} 0.0' in text


def test_the_content_type_is_prometheus_text_0_0_4() -> None:
    assert CONTENT_TYPE == "text/plain; version=0.0.4; charset=utf-8"


def test_names_choose_families_with_or_without_total() -> None:
    def names(*asked: str) -> list[str]:
        return [metric.name for metric in chosen(families(), asked)]

    assert names() == [
        "ts_inference_latency_microseconds",
        "ts_inference_requests_total",
        "repository_server_queue_depth",
    ]
    assert names("ts_inference_latency_microseconds") == ["ts_inference_latency_microseconds"]
    # The old spelling with the suffix still finds the family, and a counter without it too.
    assert names("ts_inference_latency_microseconds_total") == ["ts_inference_latency_microseconds"]
    assert names("ts_inference_requests") == ["ts_inference_requests_total"]
    assert names("nothing") == []
    assert exposition([]) == b""
