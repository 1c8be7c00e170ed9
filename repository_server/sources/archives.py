"""Reading model archives (.zip, .mar, .tar.gz, .tgz) member by member, refusing unsafe members.

Every member is checked before anything is written (zip slip, TorchServe's #2634): no absolute
paths, no `..`, no links of any kind, no devices or fifos, no encrypted or sparse entries, and the
member count and the declared uncompressed size stay under limits (zip bombs). Readers hand out the
checked members in archive order so a gzip stream is read forward only.
"""

from __future__ import annotations

import gzip
import re
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from repository_server.errors import InvalidRequestError

# The suffixes a model archive may have (case-insensitive), and how each is read.
ARCHIVE_SUFFIXES: dict[str, str] = {".tar.gz": "tar", ".tgz": "tar", ".zip": "zip", ".mar": "zip"}

_WINDOWS_DRIVE = re.compile(r"[A-Za-z]:")

# What reading a damaged archive raises (gzip's BadGzipFile is an OSError, named for clarity).
CORRUPT_ARCHIVE_ERRORS: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    tarfile.TarError,
    gzip.BadGzipFile,
    EOFError,
    zlib.error,
)
_OPEN_ERRORS: tuple[type[Exception], ...] = (*CORRUPT_ARCHIVE_ERRORS, OSError)


def archive_suffix(name: str) -> str | None:
    """The archive suffix `name` ends with (case-insensitive), or None when it names no archive."""
    lowered = name.lower()
    for suffix in ARCHIVE_SUFFIXES:
        if lowered.endswith(suffix) and len(name) > len(suffix):
            return suffix
    return None


def archive_stem(name: str) -> str:
    """`mlp.tar.gz` -> `mlp`: the model name an archive gives when none is asked for."""
    suffix = archive_suffix(name)
    return name[: -len(suffix)] if suffix else name


@dataclass(frozen=True)
class Member:
    """One checked archive entry: a safe relative path split into parts."""

    parts: tuple[str, ...]
    is_dir: bool
    size: int
    # The reader's own entry (ZipInfo or TarInfo), opened through `ArchiveReader.open`.
    entry: zipfile.ZipInfo | tarfile.TarInfo


class UnsafeArchiveError(InvalidRequestError):
    """An archive member or the archive as a whole breaks a safety rule."""

    def __init__(self, archive: Path, what: str) -> None:
        super().__init__(f"Refused archive {archive.name}: {what}; nothing was unpacked")


def safe_parts(archive: Path, name: str) -> tuple[str, ...]:
    """The path parts of member `name`, or UnsafeArchiveError when it could leave the folder."""
    if "\\" in name or "\x00" in name:
        raise UnsafeArchiveError(archive, f"member {name!r} has a backslash or NUL in its path")
    if name.startswith("/") or _WINDOWS_DRIVE.match(name):
        raise UnsafeArchiveError(archive, f"member {name!r} has an absolute path")
    parts = tuple(part for part in name.split("/") if part not in ("", "."))
    if ".." in parts:
        raise UnsafeArchiveError(archive, f"member {name!r} has a '..' path component")
    return parts


class ArchiveReader:
    """An open archive whose members have all been checked against the limits."""

    def __init__(
        self, archive: Path, members: list[Member], source: zipfile.ZipFile | tarfile.TarFile
    ):
        self.archive = archive
        self.members = members
        self._source = source

    def open(self, member: Member) -> IO[bytes]:
        """The member's data as a stream; close it (use `with`)."""
        if isinstance(member.entry, zipfile.ZipInfo):
            assert isinstance(self._source, zipfile.ZipFile)
            return self._source.open(member.entry)
        assert isinstance(self._source, tarfile.TarFile)
        stream = self._source.extractfile(member.entry)
        if stream is None:
            raise UnsafeArchiveError(self.archive, f"member {member.entry.name!r} has no data")
        return stream


def _check_size(archive: Path, members: list[Member], max_bytes: int) -> None:
    total = sum(member.size for member in members)
    if total > max_bytes:
        raise UnsafeArchiveError(
            archive, f"its members unpack to {total} bytes, over the limit of {max_bytes}"
        )
    if all(member.is_dir for member in members):
        raise UnsafeArchiveError(archive, "it holds no files")


def _zip_member(archive: Path, info: zipfile.ZipInfo) -> Member | None:
    if info.flag_bits & 0x1:
        raise UnsafeArchiveError(archive, f"member {info.filename!r} is encrypted")
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind == stat.S_IFLNK:
        raise UnsafeArchiveError(archive, f"member {info.filename!r} is a symbolic link")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise UnsafeArchiveError(archive, f"member {info.filename!r} is not a file or folder")
    parts = safe_parts(archive, info.filename)
    if not parts:
        return None
    is_dir = info.is_dir() or kind == stat.S_IFDIR
    return Member(parts, is_dir, 0 if is_dir else info.file_size, info)


def _tar_member(archive: Path, info: tarfile.TarInfo) -> Member | None:
    if info.issym() or info.islnk():
        kind = "symbolic" if info.issym() else "hard"
        raise UnsafeArchiveError(
            archive, f"member {info.name!r} is a {kind} link (to {info.linkname!r})"
        )
    if info.issparse():
        raise UnsafeArchiveError(archive, f"member {info.name!r} is a sparse file")
    if not (info.isreg() or info.isdir()):
        raise UnsafeArchiveError(archive, f"member {info.name!r} is a device, fifo or special file")
    parts = safe_parts(archive, info.name)
    if not parts:
        return None
    return Member(parts, info.isdir(), 0 if info.isdir() else info.size, info)


def _too_many(archive: Path, max_files: int) -> UnsafeArchiveError:
    return UnsafeArchiveError(archive, f"it has more than {max_files} members")


def _open_source(archive: Path, suffix: str) -> zipfile.ZipFile | tarfile.TarFile:
    try:
        if ARCHIVE_SUFFIXES[suffix] == "zip":
            return zipfile.ZipFile(archive)
        return tarfile.open(archive, mode="r:gz")
    except _OPEN_ERRORS as error:
        raise InvalidRequestError(
            f"{archive.name} is not a valid {suffix} archive: {error}"
        ) from None


def _checked_members(
    archive: Path, source: zipfile.ZipFile | tarfile.TarFile, max_bytes: int, max_files: int
) -> list[Member]:
    members: list[Member] = []
    if isinstance(source, zipfile.ZipFile):
        infos = source.infolist()
        if len(infos) > max_files:
            raise _too_many(archive, max_files)
        members = [m for info in infos if (m := _zip_member(archive, info)) is not None]
    else:
        try:
            # Iterating reads one header at a time: a tar bomb stops at max_files + 1.
            for count, info in enumerate(source, start=1):
                if count > max_files:
                    raise _too_many(archive, max_files)
                member = _tar_member(archive, info)
                if member is not None:
                    members.append(member)
        except CORRUPT_ARCHIVE_ERRORS as error:
            raise InvalidRequestError(f"{archive.name} is not a valid archive: {error}") from None
    _check_size(archive, members, max_bytes)
    return members


@contextmanager
def read_archive(archive: Path, *, max_bytes: int, max_files: int) -> Iterator[ArchiveReader]:
    """Opens `archive` (format from its suffix) and checks every member before yielding a reader.

    Raises UnsafeArchiveError for a broken rule and InvalidRequestError for a file that is not
    an archive of its kind; nothing is written here. Reading member data later may still raise
    one of CORRUPT_ARCHIVE_ERRORS (a bad CRC, a truncated stream).
    """
    suffix = archive_suffix(archive.name)
    if suffix is None:
        known = ", ".join(ARCHIVE_SUFFIXES)
        raise InvalidRequestError(f"{archive.name} is not a model archive: expected one of {known}")
    with _open_source(archive, suffix) as source:
        members = _checked_members(archive, source, max_bytes, max_files)
        yield ArchiveReader(archive, members, source)
