"""Registering archives from the model store and from allowed URLs: unpacked into the repository
as a model folder, refused before anything is written when unsafe, removed on unregister."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from tests import models
from tests.management.conftest import ALLOWED_PREFIX, Deployment, error_of
from tests.sources.archive_files import add_tar_entry, files_under, make_archive, tar_link

pytestmark = pytest.mark.e2e


def onnx_bytes(tmp_path: Path, addend: float) -> bytes:
    return models.add_model(tmp_path / f"add_{addend}.onnx", addend).read_bytes()


def hidden_leftovers(repository: Path) -> list[str]:
    return [path.name for path in repository.iterdir() if path.name.startswith(".")]


def test_a_store_archive_is_unpacked_registered_and_removed_again(explicit, tmp_path):
    model = onnx_bytes(tmp_path, 3.0)
    make_archive(
        explicit.store / "packed.tar.gz",
        {"packed/3/model.onnx": model, "packed/config.json": b'{"max_batch_size": 8}'},
    )
    ts = explicit.torchserve
    assert ts.register("url=packed.tar.gz") == (
        'Model "packed" Version: 3 registered with 1 initial workers'
    )
    assert files_under(explicit.repository / "packed") == {"config.json", "3/model.onnx"}
    assert ts.output("packed") == 3.0
    (described,) = ts.describe("/models/packed")
    assert described["modelUrl"] == "packed.tar.gz"
    listed = ts.management("GET", "/models").json()["models"]
    assert {"modelName": "packed", "modelUrl": "packed.tar.gz"} in listed

    assert ts.status(ts.management("DELETE", "/models/packed")) == 'Model "packed" unregistered'
    assert not (explicit.repository / "packed").exists()
    assert (explicit.store / "packed.tar.gz").is_file()  # the store is never changed
    # TorchServe's #160: the same archive registers again after an unregister.
    assert ts.register("url=packed.tar.gz").startswith('Model "packed" Version: 3')


def test_a_mar_with_a_bare_model_becomes_version_1_under_model_name(explicit, tmp_path):
    make_archive(
        explicit.store / "resnet.mar",
        {
            "model.onnx": onnx_bytes(tmp_path, 1.0),
            "MAR-INF/MANIFEST.json": b'{"runtime": "python", "model": {"modelName": "resnet"}}',
        },
    )
    ts = explicit.torchserve
    assert ts.register("url=resnet.mar&model_name=resnet_v2") == (
        'Model "resnet_v2" Version: 1 registered with 1 initial workers'
    )
    assert ts.output("resnet_v2", 1) == 1.0
    assert ts.describe("/models/resnet_v2")[0]["modelUrl"] == "resnet.mar"


def test_zip_slip_and_links_are_refused_before_anything_is_written(explicit, tmp_path):
    model = onnx_bytes(tmp_path, 1.0)
    make_archive(explicit.store / "evil.zip", {"1/model.onnx": model, "../../evil.onnx": model})
    linked = make_archive(explicit.store / "linked.tar.gz", {"1/model.onnx": model})
    add_tar_entry(linked, tar_link("1/escape", "/etc/passwd", tarfile.SYMTYPE))
    ts = explicit.torchserve

    status, kind, message = error_of(ts.management("POST", "/models?url=evil.zip"))
    assert (status, kind) == (400, "BadRequestException")
    assert "'..'" in message and "nothing was unpacked" in message
    status, _, message = error_of(ts.management("POST", "/models?url=linked.tar.gz"))
    assert status == 400 and "symbolic link" in message

    for name in ("evil", "linked"):
        assert not (explicit.repository / name).exists()
    assert not (explicit.repository.parent / "evil.onnx").exists()
    assert not (explicit.store.parent / "evil.onnx").exists()
    assert hidden_leftovers(explicit.repository) == []


def test_a_model_name_with_a_path_is_refused(explicit, tmp_path):
    make_archive(explicit.store / "plain.zip", {"1/model.onnx": onnx_bytes(tmp_path, 1.0)})
    status, _, message = error_of(
        explicit.torchserve.management("POST", "/models?url=plain.zip&model_name=../outside")
    )
    assert status == 400 and "Invalid model name '../outside'" in message
    assert not (explicit.repository.parent / "outside").exists()


def test_an_archive_registered_with_a_bad_parameter_is_not_left_behind(explicit, tmp_path):
    make_archive(explicit.store / "flat.zip", {"1/model.onnx": onnx_bytes(tmp_path, 1.0)})
    status, _, message = error_of(
        explicit.torchserve.management("POST", "/models?url=flat.zip&batch_size=8")
    )
    assert status == 400 and "does not batch" in message
    assert not (explicit.repository / "flat").exists()
    assert hidden_leftovers(explicit.repository) == []


def test_an_archive_whose_model_fails_is_removed_so_it_can_be_fixed(explicit, tmp_path):
    make_archive(explicit.store / "faulty.zip", {"1/model.onnx": b"not an onnx model"})
    ts = explicit.torchserve
    for _ in range(2):  # not 409 the second time: the failed folder is gone
        status, kind, _ = error_of(ts.management("POST", "/models?url=faulty.zip"))
        assert (status, kind) == (500, "InternalServerException")
        assert not (explicit.repository / "faulty").exists()


def test_an_allowed_url_is_downloaded_and_registered(explicit: Deployment, tmp_path):
    assert explicit.files is not None
    archive = make_archive(tmp_path / "remote.zip", {"2/model.onnx": onnx_bytes(tmp_path, 2.0)})
    url = explicit.files.serve(ALLOWED_PREFIX + "remote.zip", archive.read_bytes())
    ts = explicit.torchserve
    response = ts.management("POST", "/models", params={"url": url, "initial_workers": "1"})
    assert ts.status(response) == 'Model "remote" Version: 2 registered with 1 initial workers'
    assert ts.output("remote") == 2.0
    assert ts.describe("/models/remote")[0]["modelUrl"] == url


def test_a_redirect_to_a_url_outside_allowed_urls_is_refused(explicit: Deployment):
    assert explicit.files is not None
    target = explicit.files.url("/elsewhere/redirected.zip")
    url = explicit.files.redirect(ALLOWED_PREFIX + "redirected.zip", target)
    status, kind, message = error_of(
        explicit.torchserve.management("POST", "/models", params={"url": url})
    )
    assert (status, kind) == (404, "ModelNotFoundException")
    assert f"Given URL {target} does not match any allowed URL(s)" in message
    assert "/elsewhere/redirected.zip" not in explicit.files.requested
    assert not (explicit.repository / "redirected").exists()


def mar_manifest(name: str | None, version: str) -> bytes:
    model = {"modelVersion": version, "handler": "image_classifier", "modelFile": "model.onnx"}
    if name is not None:
        model["modelName"] = name
    return json.dumps({"runtime": "python", "model": model, "archiverVersion": "0.7.1"}).encode()


def test_a_torchserve_mar_is_named_and_versioned_by_its_manifest(explicit, tmp_path):
    make_archive(
        explicit.store / "tsstyle.mar",
        {
            "MAR-INF/MANIFEST.json": mar_manifest("fromman", "2.0"),
            "model.onnx": onnx_bytes(tmp_path, 2.0),
        },
    )
    ts = explicit.torchserve
    assert ts.register("url=tsstyle.mar") == (
        'Model "fromman" Version: 2 registered with 1 initial workers'
    )
    assert ts.output("fromman", 2) == 2.0
    (described,) = ts.describe("/models/fromman")
    assert (described["modelUrl"], described["modelVersion"]) == ("tsstyle.mar", "2")
    assert (described["runtime"], described["handler"]) == ("python", "image_classifier")
    # Read, not unpacked: no MAR-INF folder for the scanner to warn about.
    assert files_under(explicit.repository / "fromman") == {"2/model.onnx"}
    assert "MAR-INF" not in explicit.server.log
    assert ts.status(ts.management("DELETE", "/models/fromman")) == 'Model "fromman" unregistered'
    assert not (explicit.repository / "fromman").exists()


def test_a_mar_whose_manifest_cannot_be_used_is_refused(explicit, tmp_path):
    model = onnx_bytes(tmp_path, 1.0)
    make_archive(
        explicit.store / "nomodel.mar",
        {"MAR-INF/MANIFEST.json": b'{"runtime": "python"}', "model.onnx": model},
    )
    make_archive(
        explicit.store / "halfver.mar",
        {"MAR-INF/MANIFEST.json": mar_manifest("halfver", "1.5"), "model.onnx": model},
    )
    ts = explicit.torchserve
    assert error_of(ts.management("POST", "/models?url=nomodel.mar")) == (
        400,
        "InvalidModelException",
        "Missing Model entry in manifest file. (MAR-INF/MANIFEST.json of nomodel.mar)",
    )
    status, kind, message = error_of(ts.management("POST", "/models?url=halfver.mar"))
    assert (status, kind) == (400, "InvalidModelException")
    assert "model.modelVersion '1.5' cannot be served here" in message
    assert not (explicit.repository / "nomodel").exists()
    assert not (explicit.repository / "halfver").exists()
    assert hidden_leftovers(explicit.repository) == []


def test_an_unregistered_folder_in_the_way_is_named_without_server_paths(explicit, tmp_path):
    (explicit.repository / "in_the_way" / "1").mkdir(parents=True)  # never registered
    make_archive(explicit.store / "wanted.zip", {"1/model.onnx": onnx_bytes(tmp_path, 1.0)})
    ts = explicit.torchserve
    response = ts.management("POST", "/models?url=wanted.zip&model_name=in_the_way")
    assert error_of(response) == (
        409,
        "ConflictStatusException",
        "Model folder in_the_way already exists in the model repository; choose another model_name",
    )
    assert str(explicit.repository) not in response.text


def test_an_archive_registered_twice_is_a_conflict_naming_the_registration(explicit, tmp_path):
    make_archive(explicit.store / "doubled.zip", {"4/model.onnx": onnx_bytes(tmp_path, 4.0)})
    ts = explicit.torchserve
    ts.register("url=doubled.zip")
    assert error_of(ts.management("POST", "/models?url=doubled.zip")) == (
        409,
        "ConflictStatusException",
        "Model version 4 is already registered for model doubled",
    )
    assert ts.output("doubled") == 4.0
