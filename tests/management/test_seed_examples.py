"""Each curl example of TorchServe's management API documentation, against the real server, with
the status and body TorchServe documents (our model names; versions are integers: `2`, not
`2.0`, in bodies, while `2.0` in URLs means version 2)."""

from __future__ import annotations

import pytest

from tests.management.conftest import (
    START_TIME,
    Deployment,
    add_model_folder,
    error_of,
    torchserve_body,
)

pytestmark = pytest.mark.e2e

DESCRIBE_FIELDS = [
    "modelName",
    "modelVersion",
    "modelUrl",
    "runtime",
    "minWorkers",
    "maxWorkers",
    "batchSize",
    "maxBatchDelay",
    "responseTimeout",
    "maxRetryTimeoutInSec",
    "deviceType",
    "loadedAtStartup",
    "workers",
    "jobQueueStatus",
    "state",
]
WORKER_FIELDS = ["id", "startTime", "status", "memoryUsage", "pid", "gpu", "gpuUsage"]


def test_register_synchronously_with_initial_workers(explicit: Deployment):
    add_model_folder(explicit.repository, "squeezenet", (1, 2))
    ts = explicit.torchserve
    response = ts.management("POST", "/models?initial_workers=1&synchronous=true&url=squeezenet")
    assert response.status_code == 200
    assert ts.status(response) == 'Model "squeezenet" Version: 2 registered with 1 initial workers'
    assert ts.output("squeezenet") == 2.0
    (described,) = ts.describe("/models/squeezenet")
    assert len(described["workers"]) == 1


def test_register_asynchronously_answers_202_then_loads(explicit: Deployment):
    add_model_folder(explicit.repository, "squeezenet_async")
    ts = explicit.torchserve
    response = ts.management(
        "POST", "/models?initial_workers=1&synchronous=false&url=squeezenet_async"
    )
    assert response.status_code == 202
    assert ts.status(response) == "Processing worker updates..."
    ts.wait_described("/models/squeezenet_async", lambda body: body[0]["state"] == "READY")
    assert ts.output("squeezenet_async") == 1.0


def test_register_with_no_workers_then_scale_up(explicit: Deployment):
    add_model_folder(explicit.repository, "idle", batching=False)
    ts = explicit.torchserve
    assert ts.register("url=idle&initial_workers=0") == (
        'Model "idle" Version: 1 registered with 0 initial workers. '
        "Use scale workers API to add workers for the model."
    )
    refused = ts.inference("POST", "/predictions/idle", json={"INPUT0": [[0.0] * 4]})
    assert error_of(refused)[:2] == (503, "ServiceUnavailableException")
    assert "has no worker" in error_of(refused)[2]
    scaled = ts.management("PUT", "/models/idle?min_worker=1&synchronous=true")
    assert ts.status(scaled) == "Workers scaled to 1 for model: idle"
    assert ts.output("idle") == 1.0


def test_register_from_a_json_body(explicit: Deployment):
    add_model_folder(explicit.repository, "json_registered")
    ts = explicit.torchserve
    response = ts.management(
        "POST", "/models", json={"url": "json_registered", "initial_workers": 2}
    )
    assert response.status_code == 200, response.text
    assert ts.status(response).endswith("registered with 2 initial workers")


def test_register_maps_batching_timeout_handler_and_runtime(explicit: Deployment):
    add_model_folder(explicit.repository, "batched")
    ts = explicit.torchserve
    ts.register(
        "url=batched&batch_size=4&max_batch_delay=50&response_timeout=7"
        "&handler=image_classifier&runtime=python"
    )
    (described,) = ts.describe("/models/batched")
    assert (described["runtime"], described["handler"]) == ("python", "image_classifier")
    assert (described["batchSize"], described["maxBatchDelay"]) == (4, 50)
    assert described["responseTimeout"] == 7
    config = ts.inference("GET", "/v2/models/batched/config").json()
    assert config["max_batch_size"] == 4
    assert config["dynamic_batching"]["max_queue_delay_microseconds"] == 50_000


def test_scale_workers(explicit: Deployment):
    add_model_folder(explicit.repository, "noop", (1, 2), all_versions=True)
    ts = explicit.torchserve
    ts.register("url=noop")

    response = ts.management("PUT", "/models/noop?min_worker=3")
    assert response.status_code == 202
    assert ts.status(response) == "Processing worker updates..."
    ts.wait_described("/models/noop/all", lambda body: all(len(v["workers"]) == 3 for v in body))

    response = ts.management("PUT", "/models/noop?min_worker=3&synchronous=true")
    assert response.status_code == 200
    assert ts.status(response) == "Workers scaled to 3 for model: noop"

    response = ts.management("PUT", "/models/noop/2.0?min_worker=3&synchronous=true")
    assert response.status_code == 200
    assert ts.status(response) == "Workers scaled to 3 for model: noop, version: 2"

    response = ts.management("PUT", "/models/noop/1?min_worker=1&max_worker=4&synchronous=true")
    assert ts.status(response) == "Workers scaled to 1 for model: noop, version: 1"
    one, two = ts.describe("/models/noop/all")
    assert (one["minWorkers"], one["maxWorkers"], len(one["workers"])) == (1, 4, 1)
    assert (two["minWorkers"], two["maxWorkers"], len(two["workers"])) == (3, 3, 3)
    # A bare PUT scales to one worker, as TorchServe's min_worker defaults to 1.
    ts.status(ts.management("PUT", "/models/noop/2?synchronous=true"))
    assert len(ts.describe("/models/noop/2")[0]["workers"]) == 1


def test_describe_default_version_one_version_and_all(explicit: Deployment):
    add_model_folder(explicit.repository, "described", (1, 2), all_versions=True)
    ts = explicit.torchserve
    ts.register("url=described")

    (default,) = ts.describe("/models/described")
    assert list(default) == DESCRIBE_FIELDS
    assert default["modelName"] == "described"
    assert default["modelVersion"] == "2"
    assert default["modelUrl"] == "described"
    assert default["loadedAtStartup"] is False
    assert default["state"] == "READY"
    assert default["jobQueueStatus"] == {"remainingCapacity": 100, "pendingRequests": 0}
    (worker,) = default["workers"]
    assert list(worker) == WORKER_FIELDS
    assert START_TIME.fullmatch(worker["startTime"])
    assert worker["status"] == "READY"
    process = explicit.server.process
    assert process is not None and worker["pid"] == process.pid
    assert worker["memoryUsage"] > 0
    assert (worker["gpu"], worker["gpuUsage"]) == (False, "N/A")

    (first,) = ts.describe("/models/described/1.0")
    assert first["modelVersion"] == "1"
    assert [entry["modelVersion"] for entry in ts.describe("/models/described/all")] == ["1", "2"]

    (customized,) = ts.describe("/models/described/2?customized=true")
    assert list(customized)[-1] == "customizedMetadata"
    assert customized["customizedMetadata"]["backend"] == "onnxruntime"


def test_unregister_a_version_then_the_model(explicit: Deployment):
    add_model_folder(explicit.repository, "retired", (1, 2), all_versions=True)
    ts = explicit.torchserve
    ts.register("url=retired")

    response = ts.management("DELETE", "/models/retired/1.0")
    assert response.status_code == 200
    assert ts.status(response) == 'Model "retired" unregistered'
    assert [entry["modelVersion"] for entry in ts.describe("/models/retired/all")] == ["2"]
    assert ts.output("retired") == 2.0

    response = ts.management("DELETE", "/models/retired")
    assert ts.status(response) == 'Model "retired" unregistered'
    assert error_of(ts.management("GET", "/models/retired")) == (
        404,
        "ModelNotFoundException",
        "Model not found: retired",
    )
    # Unregistered means unknown again: it can be registered anew.
    assert ts.register("url=retired").startswith('Model "retired" Version: 2 registered')


def test_list_models_and_its_pages(explicit: Deployment):
    ts = explicit.torchserve
    for name in ("pager_a", "pager_b", "pager_c"):
        add_model_folder(explicit.repository, name)
        ts.register(f"url={name}")
    everything = torchserve_body(ts.management("GET", "/models"))
    names = [model["modelName"] for model in everything["models"]]
    assert names == sorted(names)
    assert {"pager_a", "pager_b", "pager_c"} <= set(names)
    assert {"modelName": "pager_a", "modelUrl": "pager_a"} in everything["models"]
    assert "nextPageToken" not in everything  # fewer than 100 models
    total = len(names)
    start = names.index("pager_a")

    page = torchserve_body(ts.management("GET", f"/models?limit=2&next_page_token={start}"))
    assert page == {
        "nextPageToken": str(start + 2),
        "models": [
            {"modelName": "pager_a", "modelUrl": "pager_a"},
            {"modelName": "pager_b", "modelUrl": "pager_b"},
        ],
    }
    # No token at the exact end (TorchServe's would point at an empty page), nor for limit=0.
    last = torchserve_body(ts.management("GET", f"/models?limit=1&next_page_token={total - 1}"))
    assert last == {"models": [{"modelName": names[-1], "modelUrl": names[-1]}]}
    assert torchserve_body(ts.management("GET", "/models?limit=0")) == {"models": []}
    assert torchserve_body(ts.management("GET", f"/models?next_page_token={total}")) == {
        "models": []
    }
    assert torchserve_body(ts.management("GET", "/models?limit=-4&next_page_token=x")) == (
        everything
    )
    assert torchserve_body(ts.management("GET", "/models/")) == everything


def test_set_default_version(explicit: Deployment):
    add_model_folder(explicit.repository, "defaulted", (1, 2), all_versions=True)
    ts = explicit.torchserve
    ts.register("url=defaulted")
    assert ts.output("defaulted") == 2.0

    response = ts.management("PUT", "/models/defaulted/1.0/set-default")
    assert response.status_code == 200
    assert ts.status(response) == (
        'Default version successfully updated for model "defaulted" to "1"'
    )
    assert ts.output("defaulted") == 1.0
    assert ts.describe("/models/defaulted")[0]["modelVersion"] == "1"
    listed = torchserve_body(ts.management("GET", "/models"))["models"]
    assert {"modelName": "defaulted", "modelUrl": "defaulted"} in listed
