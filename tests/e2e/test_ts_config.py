"""A TorchServe config.properties given with --ts-config starts the server as TorchServe would."""

from __future__ import annotations

import json
import zipfile

import httpx
import pytest

from tests.e2e.client import output_of

pytestmark = pytest.mark.e2e


def test_torchserve_config_properties(repository, start_server, tmp_path):
    repository.add_version("a", 1)
    repository.add_version("b", 1, addend=10)
    store = tmp_path / "store"
    store.mkdir()
    config = tmp_path / "config.properties"
    config.write_text(
        "# as a TorchServe user has it\n"
        "inference_address=http://127.0.0.1:8080\n"
        "management_address=http://127.0.0.1:8081\n"
        "metrics_address=http://127.0.0.1:8082\n"
        f"model_store={store}\n"
        "load_models=a\n"
        "job_queue_size=7\n"
        "default_workers_per_model=2\n"
        "number_of_netty_threads=4\n"
    )
    # The command line's ports (0: free ones) win over the file's addresses.
    server = start_server(repository.root, "--ts-config", str(config))
    assert output_of(server, "a") == 1.0
    # load_models without a control mode means EXPLICIT mode: b is not loaded.
    assert output_of(server, "b") is None
    (described,) = httpx.get(f"{server.management_url}/models/a").json()
    assert described["minWorkers"] == 2
    assert described["jobQueueStatus"]["remainingCapacity"] == 7
    warnings = [line for line in server.lines if "number_of_netty_threads" in line]
    assert len(warnings) == 1, server.log


def test_a_torchserve_snapshot_registers_its_archives_from_the_model_store(
    repository, start_server, tmp_path
):
    # TorchServe's own snapshot names `.mar` files of its model store; they are unpacked at start.
    repository.root.mkdir(exist_ok=True)
    store = tmp_path / "store"
    store.mkdir()
    with zipfile.ZipFile(store / "noop.mar", "w") as archive:
        archive.write(repository.source(5.0), "model.onnx")
    snapshot = {
        "name": "20210105172147102-startup.cfg",
        "modelCount": 1,
        "created": 1609847507107,
        "models": {
            "noop": {
                "1.0": {
                    "defaultVersion": True,
                    "marName": "noop.mar",
                    "minWorkers": 2,
                    "maxWorkers": 2,
                    "batchSize": 1,
                    "maxBatchDelay": 100,
                    "responseTimeout": 120,
                }
            }
        },
    }
    config = tmp_path / "config.properties"
    config.write_text(
        f"model_store={store}\nmodel_snapshot={json.dumps(snapshot)}\n", encoding="utf-8"
    )
    server = start_server(repository.root, "--ts-config", str(config))
    assert output_of(server, "noop") == 5.0
    (described,) = httpx.get(f"{server.management_url}/models/noop").json()
    assert len(described["workers"]) == 2
    server.wait_for_log(r"model noop: unpacked from noop.mar in the model store")
