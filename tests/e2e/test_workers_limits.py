"""Worker counts through the real server: a count over the maximum per version is refused up
front and leaves the server able to load and scale; the last worker going answers the requests
still queued at once (503), and a refusal names the version when the request did."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests import models
from tests.e2e.server_process import ServerProcess
from tests.management.conftest import add_model_folder
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e

MAXIMUM = 128
NO_WORKER = "has no worker to serve inference request. Please use scale workers API to add workers."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp("workers")
    root = base / "repository"
    add_model_folder(root, "add")
    add_model_folder(root, "spare")
    # One worker, room for three waiting jobs, each call long enough to keep the worker busy.
    slow = models.slow_model(base / "sources" / "slow" / "model.onnx", rounds=400)
    models.write_config(
        root / "slow",
        models.add_model_config(parameters={"job_queue_size": {"string_value": "3"}}),
    )
    models.publish_version(root / "slow", 1, slow)
    process = ServerProcess(
        root,
        [
            "--model-control-mode",
            "explicit",
            "--load-model",
            "add",
            "--load-model",
            "slow",
            # Far beyond the client's timeout: a queued request left waiting fails the test.
            "--response-timeout",
            "600",
        ],
        log_location=base / "logs",
    ).start()
    yield process
    process.stop()


def management(server: ServerProcess, method: str, path: str) -> httpx.Response:
    return httpx.request(method, f"{server.management_url}{path}", timeout=60)


def predict(server: ServerProcess, path: str) -> httpx.Response:
    return httpx.post(f"{server.inference_url}{path}", json=[[1, 2, 3, 4]], timeout=60)


def threads_of(server: ServerProcess) -> int:
    assert server.process is not None
    return len(list(Path(f"/proc/{server.process.pid}/task").iterdir()))


def error(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["type"], body["message"]


def test_scaling_over_the_maximum_is_refused_and_scaling_still_works(server):
    before = threads_of(server)
    status, kind, message = error(
        management(server, "PUT", "/models/add?min_worker=100000&synchronous=true")
    )
    assert (status, kind) == (400, "BadRequestException")
    assert f"100000 is more than the maximum of {MAXIMUM} workers per version" in message
    assert threads_of(server) <= before + 1
    scaled = management(server, "PUT", "/models/add?min_worker=3&synchronous=true")
    assert scaled.status_code == 200, scaled.text
    (described,) = management(server, "GET", "/models/add").json()
    assert len(described["workers"]) == 3
    assert predict(server, "/predictions/add").json() == [[2, 3, 4, 5]]
    assert management(server, "PUT", "/models/add?min_worker=1&synchronous=true").status_code == 200


def test_registering_with_more_than_the_maximum_is_refused_and_loading_still_works(server):
    response = management(
        server, "POST", "/models?url=spare&initial_workers=100000&synchronous=true"
    )
    status, _, message = error(response)
    assert status == 400
    assert (
        message
        == f"initial_workers 100000 is more than the maximum of {MAXIMUM} workers per version"
    )
    # Refused before anything loaded: the model was never registered.
    assert management(server, "GET", "/models/spare").status_code == 404
    registered = management(server, "POST", "/models?url=spare&initial_workers=2&synchronous=true")
    assert registered.status_code == 200, registered.text
    assert predict(server, "/predictions/spare").json() == [[2, 3, 4, 5]]
    assert management(server, "DELETE", "/models/spare").status_code == 200


def pending(server: ServerProcess) -> int:
    (described,) = management(server, "GET", "/models/slow").json()
    return int(described["jobQueueStatus"]["pendingRequests"])


def test_requests_queued_when_the_last_worker_goes_are_answered_at_once(server):
    answers: list[httpx.Response] = []
    calls = [
        threading.Thread(target=lambda: answers.append(predict(server, "/predictions/slow")))
        for _ in range(4)
    ]
    for call in calls:
        call.start()
    try:
        wait_until(lambda: pending(server) >= 1, timeout=30, message="a queued request")
        scaled = management(server, "PUT", "/models/slow?min_worker=0&synchronous=true")
        assert scaled.status_code == 200, scaled.text
    finally:
        for call in calls:
            call.join()
    statuses = sorted(response.status_code for response in answers)
    # The running request finishes; the queued ones are refused, not left to time out.
    assert 503 in statuses and set(statuses) <= {200, 503}, statuses
    for response in answers:
        if response.status_code == 503:
            assert error(response) == (
                503,
                "ServiceUnavailableException",
                f'Model "slow" {NO_WORKER}',
            )
    assert pending(server) == 0
    # New requests are refused at once too; naming the version names it in the message.
    assert error(predict(server, "/predictions/slow"))[2] == f'Model "slow" {NO_WORKER}'
    assert error(predict(server, "/predictions/slow/1"))[2] == f'Model "slow" Version 1 {NO_WORKER}'
    v2 = httpx.post(
        f"{server.inference_url}/v2/models/slow/versions/1/infer",
        json={"inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [1, 4], "data": [0] * 4}]},
        timeout=60,
    )
    assert (v2.status_code, v2.json()) == (503, {"error": f'Model "slow" Version 1 {NO_WORKER}'})
    assert (
        management(server, "PUT", "/models/slow?min_worker=1&synchronous=true").status_code == 200
    )
    assert predict(server, "/predictions/slow").status_code == 200
