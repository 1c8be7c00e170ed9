"""`POST /models url=` resolved against a real repository, model store and HTTP server."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from repository_server.errors import (
    ConflictError,
    DownloadFailedError,
    InvalidRequestError,
    ModelNotFoundError,
    ServerError,
)
from repository_server.sources import ModelSource, SourceKind, resolve_model_url
from tests.sources.archive_files import files_under, make_archive, make_zip
from tests.sources.file_server import FileServer

MODEL = {"1/model.onnx": b"onnx"}


def resolve(
    url: str,
    repository: Path,
    store: Path | None = None,
    allowed: tuple[str, ...] = (),
    max_download_bytes: int = 1 << 20,
    model_name: str | None = None,
) -> ModelSource:
    return resolve_model_url(
        url,
        repository=repository,
        model_store=store,
        allowed_urls=allowed,
        max_download_bytes=max_download_bytes,
        model_name=model_name,
        timeout=10,
    )


def refused(
    error: type[ServerError],
    status: int,
    message: str,
    url: str,
    repository: Path,
    store: Path | None = None,
    allowed: tuple[str, ...] = (),
    *,
    max_download_bytes: int = 1 << 20,
    model_name: str | None = None,
) -> ServerError:
    """Resolves and expects `error` with `status` and `message` in its text."""
    with pytest.raises(error) as caught:
        resolve(url, repository, store, allowed, max_download_bytes, model_name)
    assert caught.value.status == status
    assert message in caught.value.message
    return caught.value


# Local sources.


def test_a_repository_folder_is_used_in_place(repository: Path) -> None:
    (repository / "mlp" / "1").mkdir(parents=True)
    source = resolve("mlp", repository)
    assert source == ModelSource("mlp", repository / "mlp", "mlp", SourceKind.REPOSITORY)
    assert not source.unpacked


def test_a_repository_folder_cannot_be_renamed(repository: Path) -> None:
    (repository / "mlp").mkdir()
    refused(
        InvalidRequestError,
        400,
        "model_name 'other' differs",
        "mlp",
        repository,
        model_name="other",
    )


@pytest.mark.parametrize("name", ["mlp.zip", "mlp.mar", "mlp.tar.gz", "mlp.tgz", "sub/mlp.zip"])
def test_a_store_archive_is_unpacked_into_the_repository(
    repository: Path, store: Path, name: str
) -> None:
    (store / "sub").mkdir()
    make_archive(store / name, MODEL)
    source = resolve(name, repository, store)
    assert source == ModelSource("mlp", repository / "mlp", name, SourceKind.MODEL_STORE)
    assert source.unpacked
    assert files_under(repository) == {"mlp/1/model.onnx"}
    assert (store / name).exists()


def test_model_name_names_the_unpacked_folder(repository: Path, store: Path) -> None:
    make_zip(store / "mlp.zip", MODEL)
    source = resolve("mlp.zip", repository, store, model_name="mlp_v2")
    assert source.folder == repository / "mlp_v2"
    assert files_under(repository) == {"mlp_v2/1/model.onnx"}


def test_a_bad_model_name_is_refused_before_unpacking(repository: Path, store: Path) -> None:
    make_zip(store / "mlp.zip", MODEL)
    refused(
        InvalidRequestError,
        400,
        "Invalid model name '../x'",
        "mlp.zip",
        repository,
        store,
        model_name="../x",
    )
    assert files_under(repository) == set()


def test_unpacking_onto_an_existing_model_is_a_conflict(repository: Path, store: Path) -> None:
    make_zip(store / "mlp.zip", MODEL)
    resolve("mlp.zip", repository, store)
    refused(ConflictError, 409, "Model folder mlp already exists", "mlp.zip", repository, store)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("../outside.zip", "Relative path is not allowed in url: ../outside.zip"),
        ("sub/../../outside.zip", "Relative path is not allowed in url: sub/../../outside.zip"),
        ("..", "Relative path is not allowed in url: .."),
    ],
)
def test_paths_escaping_the_store_are_refused(
    repository: Path, store: Path, tmp_path: Path, url: str, message: str
) -> None:
    make_zip(tmp_path / "outside.zip", MODEL)
    refused(ModelNotFoundError, 404, message, url, repository, store)
    assert files_under(repository) == set()


@pytest.mark.parametrize("url", ["m" * 300, "m" * 300 + ".zip", "sub/" + "m" * 256 + ".mar"])
def test_a_name_longer_than_the_file_system_takes_is_a_clear_400(
    repository: Path, store: Path, url: str
) -> None:
    refused(
        InvalidRequestError,
        400,
        "a file or folder name is at most 255 bytes",
        url,
        repository,
        store,
    )


def test_an_absolute_path_is_refused(repository: Path, store: Path) -> None:
    archive = make_zip(store / "mlp.zip", MODEL)
    refused(
        ModelNotFoundError,
        404,
        f"Absolute path is not allowed in url: {archive}",
        str(archive),
        repository,
        store,
    )


def test_a_store_link_inside_the_store_names_the_model_by_the_link(
    repository: Path, store: Path
) -> None:
    (store / "real").mkdir()
    (store / "latest.zip").symlink_to(make_zip(store / "real" / "mlp-2024.zip", MODEL))
    assert resolve("latest.zip", repository, store).name == "latest"
    assert files_under(repository) == {"latest/1/model.onnx"}


def test_a_store_link_pointing_outside_is_refused(
    repository: Path, store: Path, tmp_path: Path
) -> None:
    (store / "mlp.zip").symlink_to(make_zip(tmp_path / "outside.zip", MODEL))
    refused(
        ModelNotFoundError,
        404,
        "mlp.zip resolves outside the model store",
        "mlp.zip",
        repository,
        store,
    )


def test_a_missing_archive_is_not_found(repository: Path, store: Path) -> None:
    refused(ModelNotFoundError, 404, "Model not found at: nope.mar", "nope.mar", repository, store)


def test_an_unknown_name_is_not_found(repository: Path, store: Path) -> None:
    refused(
        ModelNotFoundError,
        404,
        "Model not found at: nope (neither a model folder",
        "nope",
        repository,
        store,
    )


def test_an_archive_without_a_model_store_says_so(repository: Path) -> None:
    refused(ModelNotFoundError, 404, "Model store has not been configured.", "mlp.zip", repository)


def test_an_empty_url_is_not_found(repository: Path) -> None:
    refused(ModelNotFoundError, 404, "empty url", "", repository)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/m.zip", "FILE:///x.zip"])
def test_schemes_other_than_http_are_refused_even_when_allowed(repository: Path, url: str) -> None:
    refused(
        InvalidRequestError,
        400,
        "only http and https archives are downloaded",
        url,
        repository,
        None,
        (".*",),
    )


# Remote sources, from a real HTTP server on 127.0.0.1.


def test_nothing_remote_is_allowed_by_default(repository: Path, file_server: FileServer) -> None:
    url = file_server.serve("/mlp.zip", make_zip(repository.parent / "a.zip", MODEL).read_bytes())
    refused(
        ModelNotFoundError,
        404,
        f"Given URL {url} does not match any allowed URL(s)",
        url,
        repository,
    )
    assert file_server.requested == []


def test_an_allowed_url_is_downloaded_and_unpacked(
    repository: Path, file_server: FileServer, tmp_path: Path
) -> None:
    url = file_server.serve(
        "/models/mlp.tar.gz", make_archive(tmp_path / "a.tar.gz", MODEL).read_bytes()
    )
    allowed = (re.escape(file_server.url("/models/")) + r"[a-z]+\.tar\.gz",)

    source = resolve(url, repository, None, allowed)

    assert source == ModelSource("mlp", repository / "mlp", url, SourceKind.REMOTE)
    # The download scratch folder is gone: only the model is left.
    assert files_under(repository) == {"mlp/1/model.onnx"}
    assert [p.name for p in repository.iterdir()] == ["mlp"]


def test_allowed_urls_must_match_the_whole_url(
    repository: Path, file_server: FileServer, tmp_path: Path
) -> None:
    url = file_server.serve("/models/mlp.zip", make_zip(tmp_path / "a.zip", MODEL).read_bytes())
    prefix_only = (re.escape(file_server.url("/models/")),)
    refused(
        ModelNotFoundError,
        404,
        "does not match any allowed URL(s)",
        url,
        repository,
        None,
        prefix_only,
    )
    assert file_server.requested == []


def test_a_redirect_to_an_allowed_url_is_followed(
    repository: Path, file_server: FileServer, tmp_path: Path
) -> None:
    final = file_server.serve("/good/mlp.zip", make_zip(tmp_path / "a.zip", MODEL).read_bytes())
    start = file_server.redirect("/good/latest.zip", final)
    allowed = (re.escape(file_server.url("/good/")) + ".*",)
    source = resolve(start, repository, None, allowed)
    assert source.name == "latest"
    assert file_server.requested == ["/good/latest.zip", "/good/mlp.zip"]


def test_a_redirect_to_a_url_not_allowed_is_refused(
    repository: Path, file_server: FileServer, tmp_path: Path
) -> None:
    evil = file_server.serve("/evil/mlp.zip", make_zip(tmp_path / "a.zip", MODEL).read_bytes())
    start = file_server.redirect("/good/mlp.zip", evil)
    allowed = (re.escape(file_server.url("/good/")) + ".*",)

    error = refused(
        ModelNotFoundError,
        404,
        f"Given URL {evil} does not match any allowed URL(s)",
        start,
        repository,
        None,
        allowed,
    )

    assert f"(redirected from {start})" in error.message
    assert file_server.requested == ["/good/mlp.zip"]
    assert list(repository.iterdir()) == []


def test_a_redirect_to_a_file_url_is_refused(
    repository: Path, file_server: FileServer, tmp_path: Path
) -> None:
    secret = make_zip(tmp_path / "secret.zip", MODEL)
    start = file_server.redirect("/mlp.zip", secret.as_uri())
    refused(ServerError, 400, "file://", start, repository, None, (".*",))
    assert list(repository.iterdir()) == []


def test_an_http_error_is_a_download_failure(repository: Path, file_server: FileServer) -> None:
    url = file_server.url("/missing.zip")
    error = refused(
        DownloadFailedError,
        400,
        f"Failed to download archive from: {url} (HTTP 404",
        url,
        repository,
        None,
        (".*",),
    )
    assert error.torchserve_type == "DownloadArchiveException"
    assert list(repository.iterdir()) == []


def test_an_unreachable_server_is_a_download_failure(repository: Path) -> None:
    url = "http://127.0.0.1:9/mlp.zip"  # the discard port: nothing listens there
    refused(
        DownloadFailedError,
        400,
        f"Failed to download archive from: {url}",
        url,
        repository,
        None,
        (".*",),
    )
    assert list(repository.iterdir()) == []


@pytest.mark.parametrize("content_length", [True, False])
def test_an_oversize_download_is_refused(
    repository: Path, file_server: FileServer, content_length: bool
) -> None:
    url = file_server.serve("/big.zip", bytes(5000), content_length=content_length)
    refused(
        DownloadFailedError,
        400,
        "over the limit of 4000" if content_length else "more than the limit of 4000",
        url,
        repository,
        None,
        (".*",),
        max_download_bytes=4000,
    )
    assert list(repository.iterdir()) == []


def test_a_url_naming_no_archive_is_refused_before_downloading(
    repository: Path, file_server: FileServer
) -> None:
    url = file_server.url("/download?id=3")
    refused(InvalidRequestError, 400, "names no model archive", url, repository, None, (".*",))
    assert file_server.requested == []


def test_an_encoded_slash_cannot_smuggle_a_path(repository: Path, file_server: FileServer) -> None:
    url = file_server.url("/..%2F..%2Fevil.zip")
    refused(
        InvalidRequestError, 400, "Invalid model name '../../evil'", url, repository, None, (".*",)
    )
    assert file_server.requested == []


def test_an_existing_model_is_a_conflict_before_downloading(
    repository: Path, file_server: FileServer
) -> None:
    (repository / "mlp").mkdir()
    url = file_server.url("/any.zip")
    refused(
        ConflictError,
        409,
        "Model folder mlp already exists",
        url,
        repository,
        None,
        (".*",),
        model_name="mlp",
    )
    assert file_server.requested == []


def test_a_downloaded_mar_is_named_by_its_manifest(
    repository: Path, file_server: FileServer, tmp_path: Path
) -> None:
    (repository / "mlp").mkdir()  # the URL's name is taken, the manifest's is not
    manifest = json.dumps({"model": {"modelName": "renamed", "modelVersion": "3.0"}}).encode()
    archive = make_zip(
        tmp_path / "mlp.mar", {"MAR-INF/MANIFEST.json": manifest, "model.onnx": b"onnx"}
    )
    url = file_server.serve("/mlp.mar", archive.read_bytes())
    source = resolve(url, repository, None, (".*",))
    assert (source.name, source.kind, source.url) == ("renamed", SourceKind.REMOTE, url)
    assert source.manifest is not None and source.manifest.version == 3
    assert files_under(repository / "renamed") == {"3/model.onnx"}
    assert sorted(path.name for path in repository.iterdir()) == ["mlp", "renamed"]
