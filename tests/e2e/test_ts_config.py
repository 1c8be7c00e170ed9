"""A TorchServe config.properties given with --ts-config starts the server as TorchServe would."""

from __future__ import annotations

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
