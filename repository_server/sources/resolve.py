"""Where the `url` of TorchServe's `POST /models` points, made into a model folder.

In order: an http(s) URL is downloaded (only when `allowed_urls` lets it through) and unpacked;
a plain name of a model folder in the repository is used in place; a relative path of an archive
inside `--model-store` is unpacked. Every refusal happens before anything is written, and nothing
is ever copied into the model store (TorchServe's CVE-2024-35198 copied first, checked later).

Statuses follow TorchServe: 404 ModelNotFoundException for a URL outside `allowed_urls`, a `..`
or absolute path, a missing file or an unset model store; 400 for an unsupported scheme, a bad
name or a bad archive, DownloadArchiveException for a failed download, InvalidModelException for
a bad `MAR-INF/MANIFEST.json`; 409 when the target model folder already exists.

An archive's model is named `model_name`, else its manifest's `modelName`, else the archive's
file name without its suffix.
"""

from __future__ import annotations

import enum
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from repository_server.errors import InvalidRequestError, ModelNotFoundError
from repository_server.repository.layout import is_valid_model_name
from repository_server.sources.archives import ARCHIVE_SUFFIXES, archive_stem, archive_suffix
from repository_server.sources.downloads import download_archive, refuse_unless_allowed
from repository_server.sources.manifest import Manifest
from repository_server.sources.names import validate_model_name
from repository_server.sources.unpack import refuse_existing_folder, unpack_model

DEFAULT_MAX_DOWNLOAD_BYTES = 4 << 30
DEFAULT_MAX_UNPACKED_BYTES = 16 << 30
DEFAULT_MAX_ARCHIVE_FILES = 10_000
DEFAULT_DOWNLOAD_TIMEOUT_SECS = 60.0

_KNOWN_ARCHIVES = ", ".join(ARCHIVE_SUFFIXES)


class SourceKind(str, enum.Enum):
    REPOSITORY = "repository"  # a model folder already in the repository, used in place
    MODEL_STORE = "model_store"  # an archive in --model-store, unpacked into the repository
    REMOTE = "remote"  # an archive downloaded from an allowed URL, unpacked into the repository

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ModelSource:
    """A model folder in the repository, ready to load, and where it came from."""

    name: str
    folder: Path
    url: str  # as the client sent it: TorchServe's `modelUrl`
    kind: SourceKind
    manifest: Manifest | None = None  # a TorchServe archive's MAR-INF/MANIFEST.json

    @property
    def unpacked(self) -> bool:
        """True when the folder was created from an archive (and so may be removed again)."""
        return self.kind is not SourceKind.REPOSITORY


# The longest file name the file systems we run on take.
_MAX_NAME_BYTES = 255


def resolve_model_url(
    url: str,
    *,
    repository: Path,
    model_store: Path | None,
    allowed_urls: tuple[str, ...],
    max_download_bytes: int,
    model_name: str | None = None,
    max_unpacked_bytes: int = DEFAULT_MAX_UNPACKED_BYTES,
    max_files: int = DEFAULT_MAX_ARCHIVE_FILES,
    timeout: float = DEFAULT_DOWNLOAD_TIMEOUT_SECS,
) -> ModelSource:
    """Resolves `url` to a model folder in `repository`, downloading and unpacking as needed.

    `model_name` names the folder an archive is unpacked into (default: its manifest's
    modelName, else the archive's name without its suffix); a repository folder keeps its own
    name. Blocking: call it from a worker
    thread. Raises a ServerError whose message names the URL and the rule it broke.
    """
    if not url:
        raise ModelNotFoundError(url, "empty url")
    if urlsplit(url).scheme:
        return _remote(
            url,
            repository,
            allowed_urls,
            max_download_bytes,
            model_name,
            max_unpacked_bytes,
            max_files,
            timeout,
        )
    if url.startswith("/"):
        raise ModelNotFoundError(url, f"Absolute path is not allowed in url: {url}")
    if ".." in url.split("/"):
        raise ModelNotFoundError(url, f"Relative path is not allowed in url: {url}")
    if any(len(part.encode()) > _MAX_NAME_BYTES for part in url.split("/")):
        raise InvalidRequestError(
            f"url {url[:64]!r}...: a file or folder name is at most {_MAX_NAME_BYTES} bytes"
        )
    if "/" not in url and is_valid_model_name(url) and (repository / url).is_dir():
        if model_name is not None and model_name != url:
            raise InvalidRequestError(
                f"model_name {model_name!r} differs from the repository folder {url!r}: a "
                "repository model is served under its folder name"
            )
        return ModelSource(url, repository / url, url, SourceKind.REPOSITORY)
    archive = _store_archive(url, model_store)
    unpacked = unpack_model(
        archive,
        repository,
        model_name=model_name,
        # The name as the client wrote it, not where a link in the store leads.
        default_name=archive_stem(Path(url).name),
        max_bytes=max_unpacked_bytes,
        max_files=max_files,
    )
    folder = unpacked.folder
    return ModelSource(folder.name, folder, url, SourceKind.MODEL_STORE, unpacked.manifest)


def _store_archive(url: str, model_store: Path | None) -> Path:
    if archive_suffix(url) is None:
        raise ModelNotFoundError(
            url,
            f"Model not found at: {url} (neither a model folder in the repository nor a "
            f"{_KNOWN_ARCHIVES} archive in the model store)",
        )
    if model_store is None:
        raise ModelNotFoundError(url, "Model store has not been configured. (--model-store)")
    store = model_store.resolve()
    archive = (store / url).resolve()
    if not archive.is_relative_to(store):
        raise ModelNotFoundError(url, f"Model archive {url} resolves outside the model store")
    if not archive.is_file():
        raise ModelNotFoundError(url, f"Model not found at: {url}")
    return archive


def _remote(
    url: str,
    repository: Path,
    allowed_urls: tuple[str, ...],
    max_download_bytes: int,
    model_name: str | None,
    max_unpacked_bytes: int,
    max_files: int,
    timeout: float,
) -> ModelSource:
    refuse_unless_allowed(url, allowed_urls)
    file_name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    suffix = archive_suffix(file_name)
    if suffix is None:
        raise InvalidRequestError(
            f"url {url} names no model archive: its path must end in one of {_KNOWN_ARCHIVES}"
        )
    # A name smuggling a path (`..%2F..%2Fx.zip`) is refused before anything is fetched.
    stem = validate_model_name(archive_stem(file_name))
    if model_name is not None:
        refuse_existing_folder(repository / validate_model_name(model_name))  # before downloading
    # A hidden folder beside the models: same file system for the unpack, ignored by the scanner.
    with tempfile.TemporaryDirectory(prefix=".download-", dir=repository) as scratch:
        archive = Path(scratch) / file_name  # named as the URL names it, for the errors
        download_archive(
            url, archive, allowed_urls=allowed_urls, max_bytes=max_download_bytes, timeout=timeout
        )
        unpacked = unpack_model(
            archive,
            repository,
            model_name=model_name,
            default_name=stem,
            max_bytes=max_unpacked_bytes,
            max_files=max_files,
        )
    folder = unpacked.folder
    return ModelSource(folder.name, folder, url, SourceKind.REMOTE, unpacked.manifest)
