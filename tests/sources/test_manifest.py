"""TorchServe `.mar` manifests: read for the model's name and version, checked with TorchServe's
messages, and never unpacked into the model folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from repository_server.errors import ConflictError, InvalidRequestError
from repository_server.repository.scanner import RepositoryScanner
from repository_server.sources.manifest import InvalidModelError, Manifest, parse_manifest
from repository_server.sources.unpack import unpack_model
from tests.sources.archive_files import files_under, make_archive

LIMITS = {"max_bytes": 1 << 20, "max_files": 100}


def manifest_bytes(model: Any, **extra: Any) -> bytes:
    return json.dumps({"runtime": "python", "model": model, **extra}).encode()


def unpack(archive: Path, repository: Path, model_name: str | None = None):
    default = archive.name.split(".")[0]
    return unpack_model(archive, repository, model_name=model_name, default_name=default, **LIMITS)


@pytest.mark.parametrize(
    ("version", "expected"), [("2.0", 2), ("1.0", 1), ("7", 7), (3, 3), (4.0, 4), (None, 1)]
)
def test_the_manifest_version_is_a_whole_version_number(version, expected):
    model = {"modelName": "m", "handler": "h.py"}
    if version is not None:
        model["modelVersion"] = version
    assert parse_manifest(manifest_bytes(model), "m.mar") == Manifest(
        "m", expected, "h.py", "python"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"{not json", "Failed to parse MAR-INF/MANIFEST.json of m.mar"),
        (b"[1, 2]", "Failed to parse MAR-INF/MANIFEST.json of m.mar: expected a JSON object"),
        (b'{"runtime": "python"}', "Missing Model entry in manifest file."),
        (manifest_bytes("resnet"), "Missing Model entry in manifest file."),
        (manifest_bytes({"modelName": 5}), "Model name is not defined."),
        (manifest_bytes({}, runtime="java"), "Runtime is not defined or invalid."),
        (manifest_bytes({"modelVersion": "1.5"}), "MAR-INF/MANIFEST.json of m.mar: model.mod"),
        (manifest_bytes({"modelVersion": "v2"}), "MAR-INF/MANIFEST.json of m.mar: model.mod"),
        (manifest_bytes({"modelVersion": "0"}), "MAR-INF/MANIFEST.json of m.mar: model.mod"),
    ],
)
def test_a_bad_manifest_is_refused_with_torchserve_s_message(data, message):
    with pytest.raises(InvalidModelError) as caught:
        parse_manifest(data, "m.mar")
    assert caught.value.status == 400
    assert caught.value.torchserve_type == "InvalidModelException"
    assert caught.value.message.startswith(message), caught.value.message


def test_an_unservable_version_says_what_versions_are():
    with pytest.raises(InvalidModelError) as caught:
        parse_manifest(manifest_bytes({"modelVersion": "1.5"}), "m.mar")
    assert "'1.5' cannot be served here" in caught.value.message
    assert "positive whole number such as 2 or 2.0" in caught.value.message


@pytest.mark.parametrize("suffix", [".mar", ".tgz"])
def test_a_flat_mar_is_named_and_versioned_by_its_manifest(
    repository: Path, tmp_path: Path, suffix: str
):
    manifest = manifest_bytes({"modelName": "fromman", "modelVersion": "2.0"})
    # torch-model-archiver's tgz format wraps everything in a folder named after the model.
    prefix = "fromman/" if suffix == ".tgz" else ""
    archive = make_archive(
        tmp_path / f"tsstyle{suffix}",
        {f"{prefix}MAR-INF/MANIFEST.json": manifest, f"{prefix}model.onnx": b"onnx"},
    )
    unpacked = unpack(archive, repository)
    assert unpacked.folder == repository / "fromman"
    assert unpacked.manifest is not None and unpacked.manifest.version == 2
    assert files_under(unpacked.folder) == {"2/model.onnx"}
    assert list(RepositoryScanner(repository).scan().models["fromman"].versions) == [2]


def test_model_name_wins_over_the_manifest(repository: Path, tmp_path: Path):
    manifest = manifest_bytes({"modelName": "fromman"})
    archive = make_archive(
        tmp_path / "tsstyle.mar", {"MAR-INF/MANIFEST.json": manifest, "model.onnx": b"onnx"}
    )
    assert unpack(archive, repository, "chosen").folder == repository / "chosen"


def test_without_a_model_name_in_the_manifest_the_archive_names_the_model(
    repository: Path, tmp_path: Path
):
    archive = make_archive(
        tmp_path / "tsstyle.mar",
        {"MAR-INF/MANIFEST.json": manifest_bytes({"modelVersion": "3.0"}), "model.onnx": b"x"},
    )
    assert files_under(unpack(archive, repository).folder) == {"3/model.onnx"}


def test_a_versioned_mar_leaves_no_mar_inf_folder_for_the_scanner_to_ignore(
    repository: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    manifest = manifest_bytes({"modelName": "fromman2", "modelVersion": "2.0"})
    archive = make_archive(
        tmp_path / "tsver.mar", {"MAR-INF/MANIFEST.json": manifest, "2/model.onnx": b"onnx"}
    )
    folder = unpack(archive, repository).folder
    assert files_under(folder) == {"2/model.onnx"}
    caplog.set_level("WARNING")
    RepositoryScanner(repository).scan()
    assert "MAR-INF" not in caplog.text


def test_a_bad_manifest_leaves_nothing_behind(repository: Path, tmp_path: Path):
    archive = make_archive(
        tmp_path / "bad.mar", {"MAR-INF/MANIFEST.json": b"{oops", "model.onnx": b"onnx"}
    )
    with pytest.raises(InvalidModelError, match=r"Failed to parse MAR-INF/MANIFEST\.json of bad"):
        unpack(archive, repository)
    assert list(repository.iterdir()) == []


def test_an_archive_of_only_a_manifest_holds_no_model(repository: Path, tmp_path: Path):
    archive = make_archive(
        tmp_path / "empty.mar", {"MAR-INF/MANIFEST.json": manifest_bytes({"modelName": "e"})}
    )
    with pytest.raises(InvalidModelError, match="holds no model files besides its MAR-INF"):
        unpack(archive, repository)
    assert list(repository.iterdir()) == []


def test_the_manifest_s_name_must_be_free(repository: Path, tmp_path: Path):
    (repository / "fromman").mkdir()
    archive = make_archive(
        tmp_path / "tsstyle.mar",
        {"MAR-INF/MANIFEST.json": manifest_bytes({"modelName": "fromman"}), "model.onnx": b"x"},
    )
    with pytest.raises(ConflictError, match="Model folder fromman already exists"):
        unpack(archive, repository)
    assert [path.name for path in repository.iterdir()] == ["fromman"]


def test_a_manifest_name_that_cannot_name_a_folder_is_refused(repository: Path, tmp_path: Path):
    archive = make_archive(
        tmp_path / "tsstyle.mar",
        {"MAR-INF/MANIFEST.json": manifest_bytes({"modelName": "../up"}), "model.onnx": b"x"},
    )
    with pytest.raises(InvalidRequestError, match=r"Invalid model name '\.\./up'"):
        unpack(archive, repository)
    assert list(repository.iterdir()) == []
