"""The real `tritonclient.http` client against the real server, unchanged."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from tests.e2e.server_process import ServerProcess
from tests.models import add_model_config
from tests.repositories import Repository

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """EXPLICIT mode: `add` (versions 1 and 2, both served) loaded at start, `other` not."""
    base = tmp_path_factory.mktemp("triton")
    repository = Repository(base / "repository", base / "sources")
    repository.root.mkdir()
    repository.config("add", version_policy={"all": {}})
    repository.add_version("add", 1)
    repository.add_version("add", 2)
    repository.add_version("other", 1, addend=10)
    process = ServerProcess(
        repository.root,
        ["--model-control-mode", "explicit", "--load-model", "add"],
        log_location=base / "logs",
    ).start()
    yield process
    process.stop()


@pytest.fixture
def client(server: ServerProcess) -> Iterator[triton.InferenceServerClient]:
    with triton.InferenceServerClient(server.triton_url) as connection:
        yield connection


def test_health_and_metadata(client):
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("add")
    assert client.is_model_ready("add", "1")
    assert not client.is_model_ready("other")
    metadata = client.get_server_metadata()
    extensions = {"classification", "model_repository", "statistics", "binary_tensor_data"}
    assert extensions <= set(metadata["extensions"])
    model = client.get_model_metadata("add")
    assert model["versions"] == ["1", "2"]
    assert model["platform"] == "onnxruntime_onnx"
    assert model["inputs"] == [{"name": "INPUT0", "datatype": "FP32", "shape": [-1, 4]}]
    assert client.get_model_metadata("add", "1")["versions"] == ["1"]
    config = client.get_model_config("add")
    assert config["max_batch_size"] == 8
    assert config["input"][0]["data_type"] == "TYPE_FP32"
    with pytest.raises(InferenceServerException, match="'missing' is not found"):
        client.get_model_metadata("missing")


@pytest.mark.parametrize("binary_input", [True, False])
@pytest.mark.parametrize("binary_output", [True, False])
def test_infer_with_binary_data_on_and_off(client, binary_input, binary_output):
    values = np.arange(8, dtype=np.float32).reshape(2, 4)
    tensor = triton.InferInput("INPUT0", [2, 4], "FP32")
    tensor.set_data_from_numpy(values, binary_data=binary_input)
    wanted = triton.InferRequestedOutput("OUTPUT0", binary_data=binary_output)
    result = client.infer("add", [tensor], outputs=[wanted], request_id="42")
    np.testing.assert_array_equal(result.as_numpy("OUTPUT0"), values + 2)
    response = result.get_response()
    assert response["id"] == "42"
    assert response["model_version"] == "2"
    result = client.infer("add", [tensor], model_version="1")
    np.testing.assert_array_equal(result.as_numpy("OUTPUT0"), values + 1)


@pytest.mark.parametrize("algorithm", ["gzip", "deflate"])
def test_compressed_requests_as_tritonclient_sends_them(client, algorithm):
    values = np.arange(8, dtype=np.float32).reshape(2, 4)
    tensor = triton.InferInput("INPUT0", [2, 4], "FP32")
    tensor.set_data_from_numpy(values)
    result = client.infer(
        "add",
        [tensor],
        request_compression_algorithm=algorithm,
        response_compression_algorithm=algorithm,
    )
    np.testing.assert_array_equal(result.as_numpy("OUTPUT0"), values + 2)


def test_repository_index_load_and_unload(client):
    index = {
        (e["name"], e.get("version")): e.get("state") for e in client.get_model_repository_index()
    }
    assert index[("add", "1")] == "READY"
    assert index[("other", None)] is None
    client.load_model("other")
    assert client.is_model_ready("other")
    tensor = triton.InferInput("INPUT0", [1, 4], "FP32")
    tensor.set_data_from_numpy(np.zeros((1, 4), np.float32))
    assert client.infer("other", [tensor]).as_numpy("OUTPUT0")[0, 0] == 10.0
    client.unload_model("other")
    states = {(e["name"], e.get("version")): e for e in client.get_model_repository_index()}
    assert states[("other", "1")]["state"] in ("UNLOADING", "UNAVAILABLE")
    with pytest.raises(InferenceServerException, match="failed to poll from model repository"):
        client.load_model("missing")


def test_load_with_config_override(client):
    override = json.dumps(add_model_config(max_batch_size=4, version_policy={"all": {}}))
    client.load_model("add", config=override)
    assert client.get_model_config("add")["max_batch_size"] == 4
    with pytest.raises(InferenceServerException, match="Invalid config override"):
        client.load_model("add", config='{"max_batch_size": -1}')
    assert client.is_model_ready("add")


def test_statistics(client):
    tensor = triton.InferInput("INPUT0", [1, 4], "FP32")
    tensor.set_data_from_numpy(np.zeros((1, 4), np.float32))
    client.infer("add", [tensor], model_version="1")
    statistics = client.get_inference_statistics("add", "1")
    (entry,) = statistics["model_stats"]
    assert entry["name"] == "add"
    assert entry["version"] == "1"
    assert entry["inference_stats"]["success"]["count"] >= 1
    assert entry["inference_stats"]["queue"]["ns"] > 0
    assert entry["inference_stats"]["compute_infer"]["count"] >= 1
    everything = client.get_inference_statistics()
    assert {(e["name"], e["version"]) for e in everything["model_stats"]} >= {("add", "1")}


def test_load_and_unload_answer_the_control_mode_error_in_poll_mode(tmp_path: Path):
    repository = Repository(tmp_path / "repository", tmp_path / "sources")
    repository.root.mkdir()
    repository.add_version("add", 1)
    process = ServerProcess(repository.root, [], log_location=tmp_path / "logs").start()
    try:
        with triton.InferenceServerClient(process.triton_url) as client:
            for call in (client.load_model, client.unload_model):
                with pytest.raises(InferenceServerException) as raised:
                    call("add")
                assert "explicit model load / unload is not allowed" in str(raised.value)
                assert raised.value.status() == "503"
            assert client.is_model_ready("add")
    finally:
        process.stop()


def test_classification_names_the_classes_from_the_label_file(tmp_path: Path):
    # The bundled classifier: PROBABILITIES over 3 classes, labels.txt beside its versions.
    bundled = Path(__file__).resolve().parents[2] / "model_repository"
    labels = (bundled / "classifier" / "labels.txt").read_text().splitlines()
    args = ["--model-control-mode", "explicit", "--load-model", "classifier"]
    process = ServerProcess(bundled, args, log_location=tmp_path / "logs").start()
    try:
        with triton.InferenceServerClient(process.triton_url) as client:
            features = np.array([[5.1, 3.5, 1.4, 0.2], [6.3, 3.3, 6.0, 2.5]], np.float32)
            inputs = [triton.InferInput("INPUT0", [2, 4], "FP32")]
            inputs[0].set_data_from_numpy(features)
            plain = client.infer("classifier", inputs).as_numpy("PROBABILITIES")
            asked = [triton.InferRequestedOutput("PROBABILITIES", class_count=2)]
            classified = client.infer("classifier", inputs, outputs=asked)
            top = classified.as_numpy("PROBABILITIES")
    finally:
        process.stop()
    assert top.shape == (2, 2)
    for row, probabilities in zip(top.tolist(), plain, strict=True):
        expected = np.argsort(-probabilities, kind="stable")[:2]
        assert [entry.split(b":")[1:] for entry in row] == [
            [str(index).encode(), labels[index].encode()] for index in expected
        ]
        scores = [float(entry.split(b":")[0]) for entry in row]
        # Six decimals, as Triton prints them.
        np.testing.assert_allclose(scores, probabilities[expected], atol=1e-6)
