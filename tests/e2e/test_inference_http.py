"""The inference and metrics ports with plain HTTP: TorchServe's routes and seed 004's curl
examples, queue overflow, dynamic batching, every bad input, the request size limit, metrics."""

from __future__ import annotations

import gzip
import json
import socket
import struct
import threading
import zlib
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from tests import models
from tests.e2e.client import infer_request
from tests.e2e.server_process import ServerProcess
from tests.repositories import Repository
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e

QUEUE_FULL = {
    "code": 503,
    "type": "ServiceUnavailableException",
    "message": 'Model "slow" has no worker to serve inference request. '
    "Please use scale workers API to add workers.",
}
MAX_REQUEST_SIZE = 100_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp("inference")
    repository = Repository(base / "repository", base / "sources")
    repository.root.mkdir()
    repository.config("add")
    repository.add_version("add", 1)
    # Batches large enough to make responses worth compressing.
    repository.config("wide", max_batch_size=512)
    repository.add_version("wide", 1)
    # A slow model with one worker and room for two waiting jobs.
    slow = models.slow_model(base / "sources" / "slow" / "model.onnx", rounds=96)
    models.write_config(
        repository.root / "slow",
        models.add_model_config(parameters={"job_queue_size": {"string_value": "2"}}),
    )
    models.publish_version(repository.root / "slow", 1, slow)
    # The same slow model, batching: concurrent requests run together.
    models.write_config(
        repository.root / "batched",
        models.add_model_config(
            max_batch_size=8, dynamic_batching={"max_queue_delay_microseconds": 100_000}
        ),
    )
    models.publish_version(repository.root / "batched", 1, slow)
    process = ServerProcess(
        repository.root,
        ["--max-request-size", str(MAX_REQUEST_SIZE)],
        log_location=base / "logs",
    ).start()
    yield process
    process.stop()


def post(server: ServerProcess, path: str, **kwargs) -> httpx.Response:
    return httpx.post(f"{server.inference_url}{path}", timeout=60, **kwargs)


def test_ping_is_healthy(server):
    response = httpx.get(f"{server.inference_url}/ping")
    assert response.status_code == 200
    assert response.json() == {"status": "Healthy"}
    assert response.text.endswith("\n")


def test_predictions_take_an_object_or_a_bare_list(server):
    response = post(server, "/predictions/add", json={"INPUT0": [[1, 2, 3, 4]]})
    assert response.status_code == 200, response.text
    assert response.json() == [[2, 3, 4, 5]]
    # TorchServe's headers on every answer: a request id, and nothing cached.
    assert response.headers["x-request-id"]
    assert response.headers["pragma"] == "no-cache"
    # One row without the batch dimension, as curl users send it: answered the same way.
    response = post(server, "/predictions/add", json=[1, 2, 3, 4])
    assert response.json() == [2, 3, 4, 5]
    response = post(server, "/predictions/add/1.0", content=b"[[0, 0, 0, 0]]")
    assert response.json() == [[1, 1, 1, 1]]


def test_predictions_errors_in_torchserve_form(server):
    response = post(server, "/predictions/missing", json=[1, 2, 3, 4])
    assert response.status_code == 404
    assert response.json() == {
        "code": 404,
        "type": "ModelNotFoundException",
        "message": "Model not found: missing",
    }
    response = post(server, "/predictions/add/7", json=[1, 2, 3, 4])
    assert response.status_code == 404
    assert response.json()["type"] == "ModelVersionNotFoundException"
    assert response.json()["message"] == "Model version: 7 does not exist for model: add"
    response = post(server, "/predictions/add", content=b"{not json")
    assert response.status_code == 400
    assert response.json()["type"] == "BadRequestException"


def _concurrently(count: int, call) -> list[httpx.Response]:
    responses: list[httpx.Response] = [None] * count  # type: ignore[list-item]
    barrier = threading.Barrier(count)

    def run(index: int) -> None:
        barrier.wait()
        responses[index] = call(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


def test_queue_overflow_answers_503_at_once(server):
    responses = _concurrently(10, lambda i: post(server, "/predictions/slow", json=[[i, i, i, i]]))
    refused = [r for r in responses if r.status_code == 503]
    served = [r for r in responses if r.status_code == 200]
    assert len(refused) + len(served) == 10
    assert refused, "a queue of 2 with one worker cannot take 10 requests at once"
    assert len(served) >= 3
    for response in refused:
        assert response.json() == QUEUE_FULL
    # The same overflow on the v2 route answers in the v2 form.
    responses = _concurrently(
        10, lambda i: post(server, "/v2/models/slow/infer", json=infer_request(i))
    )
    v2_refused = [r for r in responses if r.status_code == 503]
    assert v2_refused
    assert v2_refused[0].json() == {"error": QUEUE_FULL["message"]}


def test_a_refusal_names_the_version_when_the_request_did(server):
    message = QUEUE_FULL["message"].replace('"slow" has', '"slow" Version 1 has')
    responses = _concurrently(10, lambda i: post(server, "/predictions/slow/1", json=[[i] * 4]))
    refused = [r for r in responses if r.status_code == 503]
    assert refused, "a queue of 2 with one worker cannot take 10 requests at once"
    assert refused[0].json() == {**QUEUE_FULL, "message": message}
    responses = _concurrently(
        10, lambda i: post(server, "/v2/models/slow/versions/1/infer", json=infer_request(i))
    )
    refused = [r for r in responses if r.status_code == 503]
    assert refused
    assert refused[0].json() == {"error": message}


def test_dynamic_batching_gives_each_caller_its_own_rows(server):
    responses = _concurrently(
        6, lambda i: post(server, "/v2/models/batched/infer", json=infer_request(float(i), rows=1))
    )
    for index, response in enumerate(responses):
        assert response.status_code == 200, response.text
        assert response.json()["outputs"][0]["data"] == [index + 1.0] * 4
    statistics = httpx.get(f"{server.inference_url}/v2/models/batched/stats").json()
    batch_sizes = {entry["batch_size"] for entry in statistics["model_stats"][0]["batch_stats"]}
    assert max(batch_sizes) > 1, batch_sizes


def _tensor(**overrides) -> dict:
    tensor = {"name": "INPUT0", "datatype": "FP32", "shape": [1, 4], "data": [0.0] * 4}
    tensor.update(overrides)
    return tensor


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{not json", 400, "failed to parse the request JSON buffer"),
        ({"inputs": []}, 400, "expected 1 inputs but got 0 inputs for model 'add'"),
        (
            {"inputs": [_tensor(name="OTHER")]},
            400,
            "unexpected inference input 'OTHER' for model 'add'",
        ),
        (
            {"inputs": [_tensor(datatype="INT64")]},
            400,
            "inference input 'INPUT0' data-type is 'INT64', but model 'add' expects 'FP32'",
        ),
        (
            {"inputs": [_tensor(shape=[1, 5], data=[0.0] * 5)]},
            400,
            "unexpected shape for input 'INPUT0' for model 'add'. Expected [-1,4], got [1,5]",
        ),
        ({"inputs": [_tensor(data=[0.0] * 3)]}, 400, "'data' has 3 elements"),
    ],
    ids=[
        "malformed-json",
        "missing-input",
        "unknown-input",
        "wrong-datatype",
        "wrong-shape",
        "data-length",
    ],
)
def test_bad_inputs_name_the_problem(server, body, status, message):
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = post(server, "/v2/models/add/infer", content=content)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]


def test_unknown_model_and_version(server):
    response = post(server, "/v2/models/missing/infer", json=infer_request(0))
    assert response.status_code == 404
    assert response.json() == {"error": "Request for unknown model: 'missing' is not found"}
    response = post(server, "/v2/models/add/versions/9/infer", json=infer_request(0))
    assert response.status_code == 404
    assert response.json() == {"error": "Request for unknown model: 'add' version 9 is not found"}
    response = httpx.get(f"{server.inference_url}/v2/models/add/versions/x/ready")
    assert response.status_code == 400
    assert "failed to get model version from specified version string 'x'" in response.text


def test_binary_size_not_matching_the_body(server):
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "INPUT0",
                    "datatype": "FP32",
                    "shape": [1, 4],
                    "parameters": {"binary_data_size": 16},
                }
            ]
        }
    ).encode()
    body = header + struct.pack("<3f", 1, 2, 3)  # 12 bytes where 16 were announced
    response = post(
        server,
        "/v2/models/add/infer",
        content=body,
        headers={"Inference-Header-Content-Length": str(len(header))},
    )
    assert response.status_code == 400
    assert "INPUT0" in response.json()["error"]
    response = post(
        server,
        "/v2/models/add/infer",
        content=body,
        headers={"Inference-Header-Content-Length": str(len(body) + 10)},
    )
    assert response.status_code == 400


def test_binary_request_round_trip(server):
    values = np.arange(4, dtype=np.float32).reshape(1, 4)
    header = json.dumps(
        {
            "inputs": [
                {
                    "name": "INPUT0",
                    "datatype": "FP32",
                    "shape": [1, 4],
                    "parameters": {"binary_data_size": 16},
                }
            ],
            "outputs": [{"name": "OUTPUT0", "parameters": {"binary_data": True}}],
        }
    ).encode()
    response = post(
        server,
        "/v2/models/add/infer",
        content=header + values.tobytes(),
        headers={"Inference-Header-Content-Length": str(len(header))},
    )
    assert response.status_code == 200
    length = int(response.headers["Inference-Header-Content-Length"])
    document = json.loads(response.content[:length])
    assert document["outputs"][0]["parameters"] == {"binary_data_size": 16}
    np.testing.assert_array_equal(
        np.frombuffer(response.content[length:], np.float32), values.ravel() + 1
    )


def test_body_over_the_size_limit_is_413(server):
    big = {"inputs": [_tensor(data=[0.0] * 30_000)]}
    response = post(server, "/v2/models/add/infer", json=big)
    assert response.status_code == 413
    assert "--max-request-size" in response.json()["error"]
    response = post(server, "/predictions/add", json=[[0.0] * 30_000])
    assert response.status_code == 413
    assert response.json()["code"] == 413


def _series(text: str, name: str, model: str) -> float:
    """The value of `name` for version 1 of `model` in the metrics text."""
    prefix = f'{name}{{model_name="{model}",model_version="1",hostname="'
    (line,) = [line for line in text.splitlines() if line.startswith(prefix)]
    return float(line.rsplit(" ", 1)[1])


def test_metrics_count_requests_per_model_version(server):
    post(server, "/predictions/add", json=[1, 2, 3, 4])
    response = httpx.get(f"{server.metrics_url}/metrics")
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = response.text
    assert _series(text, "ts_inference_requests_total", "add") >= 1
    # TorchServe's names exactly: its latency counters have no `_total` suffix.
    assert "# TYPE ts_inference_requests_total counter" in text
    assert "# TYPE ts_inference_latency_microseconds counter" in text
    assert "# TYPE ts_queue_latency_microseconds counter" in text
    assert _series(text, "ts_inference_latency_microseconds", "add") > 0
    assert _series(text, "ts_queue_latency_microseconds", "add") >= 0
    assert "_microseconds_total" not in text
    assert 'repository_server_model_versions{state="READY"} 4.0' in text
    filtered = httpx.get(
        f"{server.metrics_url}/metrics",
        params=[("name[]", "ts_queue_latency_microseconds"), ("name[]", "ts_inference_requests")],
    ).text
    assert [line for line in filtered.splitlines() if line.startswith("# TYPE")] == [
        "# TYPE ts_inference_requests_total counter",
        "# TYPE ts_queue_latency_microseconds counter",
    ]


def _compressed(document: dict, encoding: str) -> bytes:
    raw = json.dumps(document).encode()
    return gzip.compress(raw) if encoding == "gzip" else zlib.compress(raw)


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_compressed_request_and_response_bodies(server, encoding):
    # 300 rows: a response large enough to be worth compressing.
    body = _compressed(infer_request(2.0, rows=300), encoding)
    headers = {"Content-Encoding": encoding, "Accept-Encoding": encoding}
    response = post(server, "/v2/models/wide/infer", content=body, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Encoding"] == encoding
    assert len(response.content) > int(response.headers["Content-Length"])
    assert response.json()["outputs"][0]["data"] == [3.0] * 1200


def test_small_responses_and_unasked_ones_are_sent_as_they_are(server):
    small = post(server, "/v2/models/add/infer", json=infer_request(1.0))
    assert small.status_code == 200
    assert "Content-Encoding" not in small.headers
    refused = post(
        server,
        "/v2/models/wide/infer",
        json=infer_request(1.0, rows=300),
        headers={"Accept-Encoding": "gzip;q=0, identity"},
    )
    assert refused.status_code == 200
    assert "Content-Encoding" not in refused.headers


@pytest.mark.parametrize(
    ("headers", "body", "status", "message"),
    [
        ({"Content-Encoding": "br"}, b"{}", 415, "unsupported Content-Encoding 'br'"),
        ({"Content-Encoding": "gzip"}, b"not gzip", 400, "request body is not valid gzip data"),
        (
            {"Content-Encoding": "deflate"},
            zlib.compress(b'{"inputs": []}')[:-3],
            400,
            "the compressed stream is truncated",
        ),
        # 1 MB of zeros compresses to about 1 KB: inflating stops at the size limit.
        ({"Content-Encoding": "gzip"}, gzip.compress(b"0" * 1_000_000), 413, "decompressed"),
    ],
)
def test_bad_compressed_bodies_name_the_problem(server, headers, body, status, message):
    response = post(server, "/v2/models/add/infer", content=body, headers=headers)
    assert response.status_code == status
    assert message in response.json()["error"]


def test_the_request_s_own_timeout_applies(server):
    # Triton's `timeout` parameter (microseconds): 1 ms is far shorter than the slow model's run.
    request = {**infer_request(1.0), "parameters": {"timeout": 1000}}
    response = post(server, "/v2/models/slow/infer", json=request)
    assert response.status_code == 408
    assert "timed out after 1 ms" in response.json()["error"]
    request["parameters"] = {"timeout": 60_000_000}
    assert post(server, "/v2/models/slow/infer", json=request).status_code == 200


NOT_FOUND = {
    "code": 404,
    "type": "ResourceNotFoundException",
    "message": "Requested resource is not found, please refer to API document.",
}
NOT_ALLOWED = {
    "code": 405,
    "type": "MethodNotAllowedException",
    "message": "Requested method is not allowed, please refer to API document.",
}


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/nosuch", NOT_FOUND),
        ("POST", "/predictions", NOT_FOUND),
        ("GET", "/predictions/add", NOT_ALLOWED),
        ("DELETE", "/ping", NOT_ALLOWED),
        ("GET", "/", NOT_ALLOWED),
    ],
)
def test_routing_errors_outside_v2_answer_in_torchserve_s_envelope(server, method, path, expected):
    response = httpx.request(method, f"{server.inference_url}{path}", timeout=30)
    assert response.status_code == expected["code"]
    assert response.text == json.dumps(expected, indent=2) + "\n"
    assert response.headers["x-request-id"]


def test_routing_errors_under_v2_keep_triton_s_form(server):
    response = httpx.get(f"{server.inference_url}/v2/nosuch", timeout=30)
    assert (response.status_code, response.json()) == (404, {"error": "Not Found"})
    response = httpx.get(f"{server.inference_url}/v2/models/add/infer", timeout=30)
    assert (response.status_code, response.json()) == (405, {"error": "Method Not Allowed"})


def test_a_path_after_the_version_is_accepted_and_ignored(server):
    response = post(server, "/predictions/add/1/extra/path", json=[1, 2, 3, 4])
    assert response.status_code == 200, response.text
    assert response.json() == [2, 3, 4, 5]
    response = post(server, "/predictions/add/7/extra", json=[1, 2, 3, 4])
    assert response.status_code == 404
    assert response.json()["type"] == "ModelVersionNotFoundException"


@pytest.mark.parametrize("surface", ["inference", "management"])
@pytest.mark.parametrize("method", ["GET", "OPTIONS", "POST", "PUT", "DELETE"])
def test_any_method_on_api_description_answers_the_description(server, surface, method):
    response = httpx.request(method, f"{server.url(surface)}/api-description", timeout=30)
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["openapi"] == "3.0.1"
    expected = httpx.request("OPTIONS", f"{server.url(surface)}/", timeout=30).json()
    assert document == expected


def test_trailing_slashes_as_each_protocol_treats_them(server):
    # TorchServe drops a trailing slash; Triton answers 404 for one. Neither redirects.
    torchserve = post(server, "/predictions/add/", json=[1, 2, 3, 4])
    assert torchserve.status_code == 200, torchserve.text
    assert torchserve.json() == [2, 3, 4, 5]
    ping = httpx.get(f"{server.inference_url}/ping/", timeout=30)
    assert ping.json() == {"status": "Healthy"}
    triton = post(server, "/v2/models/add/infer/", json=infer_request(1.0))
    assert triton.status_code == 404
    assert triton.json() == {"error": "Not Found"}


def test_a_request_head_over_64_kib_is_refused_and_the_port_serves_on(server):
    response = post(
        server, "/v2/models/add/infer", json=infer_request(1.0), headers={"X-Big": "a" * 70_000}
    )
    assert response.status_code == 431
    # In the form of the path's protocol: Triton's here.
    assert response.json() == {
        "error": "request line and headers exceed 65536 bytes; send large values in the body"
    }
    assert post(server, "/v2/models/add/infer", json=infer_request(1.0)).status_code == 200


@pytest.mark.parametrize("path", ["/v2/models/add/infer", "/predictions/add"])
def test_a_client_that_goes_away_mid_body_is_one_quiet_log_line(server, path):
    lines_before = len(server.lines)
    with socket.create_connection((server.host, server.ports["inference"]), timeout=10) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n".encode() + b"{"
        )
        server_sees = "closed the connection before sending the whole request"
        # Closing now leaves the body 999 bytes short.
    wait_until(lambda: any(server_sees in line for line in server.lines[lines_before:]))
    new = server.lines[lines_before:]
    assert not any("Traceback" in line or "ERROR" in line for line in new), "\n".join(new)
    assert (
        post(
            server, path, json=[1, 2, 3, 4] if "predictions" in path else infer_request(1)
        ).status_code
        == 200
    )


def test_an_encoded_slash_is_refused_not_routed(server):
    # Decoded, this would be version 1's infer route; a proxy filtering raw paths never saw it.
    triton = post(server, "/v2/models/add%2Fversions%2F1/infer", json=infer_request(1.0))
    assert triton.status_code == 404
    assert triton.json() == {"error": "an encoded '/' (%2F) is not allowed in a path"}
    torchserve = post(server, "/predictions/add%2F1", json=[1, 2, 3, 4])
    assert torchserve.status_code == 404
    assert torchserve.json()["type"] == "ResourceNotFoundException"
