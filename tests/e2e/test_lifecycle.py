"""Starting and stopping the real process: graceful stops finish in-flight requests, and
--exit-on-error stops a start with a broken model."""

from __future__ import annotations

import signal
import threading

import httpx
import pytest

from tests import models
from tests.e2e.client import infer_request
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_gracefully_after_in_flight_requests(repository, start_server, sig):
    # Slow enough that the three requests overlap: one runs while two wait.
    slow = models.slow_model(repository.sources / "slow" / "model.onnx", rounds=400)
    models.publish_version(repository.root / "slow", 1, slow)
    server = start_server(repository.root)
    answers: list[httpx.Response] = []
    url = f"{server.inference_url}/v2/models/slow/infer"
    calls = [
        threading.Thread(
            target=lambda: answers.append(httpx.post(url, json=infer_request(1), timeout=60))
        )
        for _ in range(3)
    ]
    for call in calls:
        call.start()
    # Once two requests wait behind the running one, all three are in flight (a stop before the
    # third is even sent would refuse its connection, which is not what this test is about).
    metrics = f"{server.metrics_url}/metrics"

    def in_flight() -> bool:
        text = httpx.get(metrics).text
        return any(
            line.startswith("repository_server_queue_depth{") and line.endswith(" 2.0")
            for line in text.splitlines()
        )

    server.wait_for_log("Model server started")
    wait_until(in_flight, timeout=30)
    assert server.stop(sig) == 0
    for call in calls:
        call.join()
    assert [response.status_code for response in answers] == [200, 200, 200]
    assert "stopped" in server.log


def test_exit_on_error_stops_a_start_with_a_broken_model(repository, start_server):
    repository.add_version("good", 1)
    repository.break_version("broken", 1)
    server = start_server(repository.root, "--exit-on-error", wait_ready=False)
    assert server.wait_exit(60) == 1
    assert "model broken failed to load: broken/1/model.onnx" in server.log


def test_without_exit_on_error_the_others_serve(repository, start_server):
    repository.add_version("good", 1)
    repository.break_version("broken", 1)
    server = start_server(repository.root)
    response = httpx.post(f"{server.inference_url}/v2/models/good/infer", json=infer_request(0))
    assert response.status_code == 200
    response = httpx.post(f"{server.inference_url}/v2/models/broken/infer", json=infer_request(0))
    assert response.status_code in (404, 503)
    assert httpx.get(f"{server.inference_url}/v2/health/ready").status_code == 200
