"""Unpacking a checked model archive into the repository as one model folder, atomically.

Layout rules (decided here, once):

- One folder wrapping everything (`tar czf mlp.tar.gz mlp/`) is stripped, unless its name is a
  version number.
- A model folder layout, recognised by at least one version folder at the top
  (`config.json`, `1/model.onnx`, `2/...`), is unpacked as it is.
- Anything else is a bare version and becomes version 1: `model.onnx` -> `1/model.onnx`, a
  TorchServe `.mar`'s `MAR-INF/MANIFEST.json` -> `1/MAR-INF/MANIFEST.json`; a top-level
  `config.json` stays the model's config.

The files are written into a hidden `.<name>.tmp-xxxx` folder beside the target (the scanner
ignores dot-folders) and renamed into place, so the repository never shows half a model.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import IO

from repository_server.errors import ConflictError, InvalidRequestError
from repository_server.repository.config import CONFIG_FILE
from repository_server.repository.layout import version_number
from repository_server.sources.archives import (
    CORRUPT_ARCHIVE_ERRORS,
    Member,
    UnsafeArchiveError,
    read_archive,
)

BARE_VERSION = "1"
_CHUNK = 1 << 20


def _strip_wrapper(members: list[Member]) -> list[tuple[Member, tuple[str, ...]]]:
    tops = {member.parts[0] for member in members}
    if len(tops) == 1:
        (top,) = tops
        wraps = all(len(m.parts) > 1 or m.is_dir for m in members)
        if wraps and version_number(top) is None:
            return [(m, m.parts[1:]) for m in members if len(m.parts) > 1]
    return [(m, m.parts) for m in members]


def model_folder_paths(members: list[Member]) -> list[tuple[Member, tuple[str, ...]]]:
    """Each member with the path it gets inside the model folder (see the module's rules)."""
    placed = _strip_wrapper(members)
    has_versions = any(
        version_number(parts[0]) is not None and (len(parts) > 1 or member.is_dir)
        for member, parts in placed
    )
    if has_versions:
        return placed
    return [
        (member, parts if parts == (CONFIG_FILE,) else (BARE_VERSION, *parts))
        for member, parts in placed
    ]


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
    if destination.exists() or destination.is_symlink():
        raise ConflictError(
            f"Model folder '{destination.name}' already exists in the repository "
            f"{destination.parent}; unregister it first or choose another model_name"
        )


def unpack_archive(archive: Path, destination: Path, *, max_bytes: int, max_files: int) -> Path:
    """Unpacks `archive` into the new model folder `destination` and returns it.

    Every member is checked before anything is written (see `archives.read_archive`); at most
    `max_files` members and `max_bytes` unpacked bytes. Raises ConflictError (409) when
    `destination` exists, UnsafeArchiveError / InvalidRequestError (400) for an unsafe or broken
    archive; on any failure nothing is left behind. Blocking: call it from a worker thread.
    """
    refuse_existing_folder(destination)
    with read_archive(archive, max_bytes=max_bytes, max_files=max_files) as reader:
        placed = model_folder_paths(reader.members)
        staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.tmp-", dir=destination.parent))
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
    return destination
