"""The example repository: every config validates, every model loads, and each answers as its
PyTorch definition does."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import numpy as np
import pytest

from backends.base import TensorSpec
from model_repository import networks
from repository_server.repository.config import parse_config
from tests.backends.conftest import EXAMPLES, load_example

MODELS = ("mlp", "mlp_torchscript", "mlp_openvino", "classifier", "heavy")


def content_hash(path: Path) -> str:
    """The file's hash; for a TorchScript archive, of its records but the debug ones, which
    name the absolute path of networks.py (so they differ between checkouts), and the
    serialization id that make_models derives from them."""
    if path.suffix != ".pt":
        return hashlib.sha256(path.read_bytes()).hexdigest()
    digest = hashlib.sha256()
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.endswith((".debug_pkl", ".data/serialization_id")):
                digest.update(info.filename.encode() + b"\0" + archive.read(info) + b"\0")
    return digest.hexdigest()


def files_by_hash(root: Path) -> dict[str, str]:
    return {
        str(path.relative_to(root)): content_hash(path)
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.parent != root and "__pycache__" not in path.parts
    }


def test_make_models_reproduces_the_committed_files(tmp_path):
    pytest.importorskip("openvino", reason="make_models converts to OpenVINO IR")
    from model_repository.make_models import make_all

    make_all(tmp_path)
    committed = {
        name: digest
        for name, digest in files_by_hash(EXAMPLES).items()
        if name.split("/")[0] in MODELS
    }
    assert files_by_hash(tmp_path) == committed


@pytest.mark.parametrize("model", MODELS)
def test_configs_validate_and_files_stay_small(model):
    folder = EXAMPLES / model
    config = parse_config((folder / "config.json").read_text(), model)
    assert config.name == model
    assert all(path.stat().st_size < 16_000 for path in folder.rglob("*") if path.is_file())


def test_mlp_versions_give_different_answers():
    inputs = np.random.default_rng(5).standard_normal((4, 4)).astype(np.float32)
    answers = []
    for version in networks.MLP_VERSIONS:
        model = load_example("mlp", version)
        try:
            answers.append(model.infer({"INPUT0": inputs})["OUTPUT0"])
        finally:
            model.close()
        expected = networks.reference(networks.mlp_module(version), inputs)
        np.testing.assert_allclose(answers[-1], expected, atol=1e-5)
    assert not np.allclose(answers[0], answers[1], atol=1e-2)


def test_mlp_keeps_two_versions():
    config = parse_config((EXAMPLES / "mlp" / "config.json").read_text(), "mlp")
    assert config.version_policy is not None
    assert config.version_policy.to_json() == {"latest": {"num_versions": 2}}


def test_classifier_names_iris_species_from_its_labels_file():
    config = parse_config((EXAMPLES / "classifier" / "config.json").read_text(), "classifier")
    assert config.label_files() == ["labels.txt"]
    labels = (EXAMPLES / "classifier" / "labels.txt").read_text().split()
    assert labels == ["setosa", "versicolor", "virginica"]
    model = load_example("classifier")
    try:
        assert model.metadata.outputs == (TensorSpec("PROBABILITIES", "FP32", (-1, 3)),)
        flowers = np.array(
            [[5.1, 3.5, 1.4, 0.2], [6.0, 2.7, 4.2, 1.3], [6.7, 3.0, 5.6, 2.1]], np.float32
        )
        probabilities = model.infer({"INPUT0": flowers})["PROBABILITIES"]
    finally:
        model.close()
    assert [labels[index] for index in probabilities.argmax(axis=1)] == labels
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    expected = networks.reference(networks.classifier_module(), flowers)
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)


def test_heavy_batches_and_matches_its_reference():
    config = parse_config((EXAMPLES / "heavy" / "config.json").read_text(), "heavy")
    assert config.max_batch_size == 32
    assert config.dynamic_batching is not None
    assert config.dynamic_batching.max_queue_delay_microseconds == 2000
    model = load_example("heavy")
    try:
        assert model.metadata.inputs == (TensorSpec("INPUT0", "FP32", (-1, 64)),)
        assert model.metadata.outputs == (TensorSpec("OUTPUT0", "FP32", (-1, 16)),)
        inputs = np.random.default_rng(6).standard_normal((32, 64)).astype(np.float32)
        outputs = model.infer({"INPUT0": inputs})["OUTPUT0"]
    finally:
        model.close()
    np.testing.assert_allclose(
        outputs, networks.reference(networks.heavy_module(), inputs), atol=1e-4
    )
