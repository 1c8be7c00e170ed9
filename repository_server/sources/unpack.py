"""Unpacking a checked model archive into the repository as one model folder, atomically.

Layout rules (decided here, once):

- One folder wrapping everything (`tar czf mlp.tar.gz mlp/`) is stripped, unless its name is a
  version number.
- A model folder layout, recognised by at least one version folder at the top
  (`config.json`, `1/model.onnx`, `2/...`), is unpacked as it is.
- Anything else is a bare version: `model.onnx` -> `1/model.onnx`; a top-level `config.json`
  stays the model's config.
- A TorchServe `.mar`'s `MAR-INF/MANIFEST.json` is read, not unpacked: its `modelVersion` names
  a bare version's folder (`2.0` -> `2/model.onnx`) and its `modelName` the model when the
  registration gives no name (see `manifest`).

The files are written into a hidden `.<name>.tmp-xxxx` folder beside the target (the scanner
ignores dot-folders) and renamed into place, so the repository never shows half a model.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from repository_server.errors import ConflictError, InvalidRequestError, ServerError
from repository_server.repository.config import CONFIG_FILE
from repository_server.repository.layout import version_number
from repository_server.sources.archives import (
    CORRUPT_ARCHIVE_ERRORS,
    ArchiveReader,
    Member,
    UnsafeArchiveError,
    read_archive,
)
from repository_server.sources.manifest import (
    MANIFEST_FILE,
    MANIFEST_FOLDER,
    MANIFEST_PATH,
    InvalidModelError,
    Manifest,
    parse_manifest,
)
from repository_server.sources.names import validate_model_name

BARE_VERSION = 1
_CHUNK = 1 << 20
# A manifest is a few hundred bytes; anything far larger is not one.
_MAX_MANIFEST_BYTES = 1 << 20

Placed = list[tuple[Member, tuple[str, ...]]]


class FolderExistsError(ConflictError):
    """The model folder an archive would be unpacked into exists already."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"Model folder {name} already exists in the model repository; choose another model_name"
        )
        self.name = name


class UnpackFailedError(ServerError):
    """The server could not write the model folder (a full disk, a file size limit)."""

    status = 500
    torchserve_type = "InternalServerException"


@dataclass(frozen=True)
class UnpackedModel:
    folder: Path
    manifest: Manifest | None


def _strip_wrapper(members: list[Member]) -> list[tuple[Member, tuple[str, ...]]]:
    tops = {member.parts[0] for member in members}
    if len(tops) == 1:
        (top,) = tops
        wraps = all(len(m.parts) > 1 or m.is_dir for m in members)
        if wraps and version_number(top) is None and top != MANIFEST_FOLDER:
            return [(m, m.parts[1:]) for m in members if len(m.parts) > 1]
    return [(m, m.parts) for m in members]


def _without_manifest(placed: Placed) -> Placed:
    return [(member, parts) for member, parts in placed if parts[0] != MANIFEST_FOLDER]


def model_folder_paths(members: list[Member], bare_version: int = BARE_VERSION) -> Placed:
    """Each member with the path it gets inside the model folder (see the module's rules);
    `bare_version` is the folder of a bare version (a manifest's modelVersion)."""
    placed = _without_manifest(_strip_wrapper(members))
    has_versions = any(
        version_number(parts[0]) is not None and (len(parts) > 1 or member.is_dir)
        for member, parts in placed
    )
    if has_versions:
        return placed
    return [
        (member, parts if parts == (CONFIG_FILE,) else (str(bare_version), *parts))
        for member, parts in placed
    ]


def read_manifest(reader: ArchiveReader) -> Manifest | None:
    """The archive's MAR-INF/MANIFEST.json (under a wrapping folder too), or None."""
    for member, parts in _strip_wrapper(reader.members):
        if parts == (MANIFEST_FOLDER, MANIFEST_FILE) and not member.is_dir:
            if member.size > _MAX_MANIFEST_BYTES:
                raise InvalidModelError(
                    f"{MANIFEST_PATH} of {reader.archive.name} is {member.size} bytes, over the "
                    f"limit of {_MAX_MANIFEST_BYTES}"
                )
            try:
                with reader.open(member) as stream:
                    data = stream.read(_MAX_MANIFEST_BYTES + 1)
            except CORRUPT_ARCHIVE_ERRORS as error:
                raise InvalidRequestError(
                    f"{reader.archive.name} is damaged at member {MANIFEST_PATH!r}: {error}"
                ) from None
            return parse_manifest(data, reader.archive.name)
    return None


def _copy(source: IO[bytes], target: Path, budget: int) -> int:
    """Copies at most `budget` bytes; returns what is left, or raises when the data runs over."""
    with source, target.open("xb") as out:
        while chunk := source.read(_CHUNK):
            budget -= len(chunk)
            if budget < 0:
                raise OverflowError
            out.write(chunk)
    return budget


def refuse_existing_folder(destination: Path) -> None:
    """FolderExistsError (409) when `destination` exists; its message names no server path."""
    if destination.exists() or destination.is_symlink():
        raise FolderExistsError(destination.name)


def unpack_archive(archive: Path, destination: Path, *, max_bytes: int, max_files: int) -> Path:
    """Unpacks `archive` into the new model folder `destination` and returns it.

    Every member is checked before anything is written (see `archives.read_archive`); at most
    `max_files` members and `max_bytes` unpacked bytes. Raises FolderExistsError (409) when
    `destination` exists, UnsafeArchiveError / InvalidRequestError (400) for an unsafe or broken
    archive or manifest; on any failure nothing is left behind. Blocking: call it from a worker
    thread.
    """
    refuse_existing_folder(destination)
    with read_archive(archive, max_bytes=max_bytes, max_files=max_files) as reader:
        manifest = read_manifest(reader)
        _write(reader, _placed(reader, manifest), destination, max_bytes)
    return destination


def unpack_model(
    archive: Path,
    repository: Path,
    *,
    model_name: str | None,
    default_name: str,
    max_bytes: int,
    max_files: int,
) -> UnpackedModel:
    """Unpacks `archive` into a new model folder of `repository` named `model_name`, else by
    its manifest's modelName, else `default_name` (the archive's name without suffix).

    Raises as `unpack_archive` does, and InvalidRequestError for a name that cannot name a
    model folder. Blocking: call it from a worker thread.
    """
    if model_name is not None:
        refuse_existing_folder(repository / validate_model_name(model_name))
    with read_archive(archive, max_bytes=max_bytes, max_files=max_files) as reader:
        manifest = read_manifest(reader)
        name = model_name or (manifest and manifest.model_name) or default_name
        destination = repository / validate_model_name(name)
        refuse_existing_folder(destination)
        _write(reader, _placed(reader, manifest), destination, max_bytes)
    return UnpackedModel(destination, manifest)


def _placed(reader: ArchiveReader, manifest: Manifest | None) -> Placed:
    placed = model_folder_paths(
        reader.members, manifest.version if manifest is not None else BARE_VERSION
    )
    if all(member.is_dir for member, _ in placed):
        raise InvalidModelError(
            f"{reader.archive.name} holds no model files besides its {MANIFEST_FOLDER} folder"
        )
    return placed


def _write(reader: ArchiveReader, placed: Placed, destination: Path, max_bytes: int) -> None:
    """Writes the placed members into a hidden staging folder, then renames it into place."""
    archive = reader.archive
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.tmp-", dir=destination.parent))
    except OSError as error:
        raise UnpackFailedError(
            f"cannot unpack {archive.name} into the model repository as model "
            f"{destination.name}: {error.strerror or error}"
        ) from None
    try:
        budget = max_bytes
        for member, parts in placed:
            target = staging.joinpath(*parts)
            if member.is_dir:
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                budget = _copy(reader.open(member), target, budget)
            except FileExistsError:
                raise UnsafeArchiveError(
                    archive, f"member {'/'.join(member.parts)!r} appears twice"
                ) from None
            except OverflowError:
                raise UnsafeArchiveError(
                    archive, f"its data runs over the limit of {max_bytes} bytes"
                ) from None
            except CORRUPT_ARCHIVE_ERRORS as error:
                raise InvalidRequestError(
                    f"{archive.name} is damaged at member {'/'.join(member.parts)!r}: {error}"
                ) from None
            except OSError as error:
                raise UnpackFailedError(
                    f"cannot unpack {archive.name} into the model repository as model "
                    f"{destination.name}: writing {'/'.join(member.parts)!r} failed: "
                    f"{error.strerror or error}"
                ) from None
        staging.chmod(0o755)  # mkdtemp's 0o700 would hide the model from other users
        refuse_existing_folder(destination)
        try:
            staging.rename(destination)
        except OSError:
            refuse_existing_folder(destination)  # another unpack published it first
            raise
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


# `.<model>.tmp-<8 random characters>`: the staging folders `_write` makes (mkdtemp's suffix).
_STAGING_NAME = re.compile(r"\.[A-Za-z0-9_.-]+\.tmp-[A-Za-z0-9_]{8}")


def remove_stale_staging(repository: Path, older_than_secs: float = 60.0) -> list[str]:
    """Removes the staging folders an interrupted unpack left in `repository` (a crash or a
    kill mid-registration) once they are `older_than_secs` old, so a server sharing the folder
    that is unpacking right now keeps its own. Returns the names removed."""
    removed: list[str] = []
    now = time.time()
    try:
        entries = list(os.scandir(repository))
    except OSError:
        return removed  # the start reports an unreadable repository itself
    for entry in entries:
        if not _STAGING_NAME.fullmatch(entry.name) or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            if now - entry.stat(follow_symlinks=False).st_mtime < older_than_secs:
                continue
        except OSError:
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(entry.name)
    return removed
