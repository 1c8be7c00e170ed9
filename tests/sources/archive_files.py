"""Builders of real archives on disk, hostile ones included, for the unpacking tests."""

from __future__ import annotations

import io
import stat
import tarfile
import warnings
import zipfile
from pathlib import Path


def make_zip(path: Path, files: dict[str, bytes], *, compress: bool = True) -> Path:
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about duplicate names; some tests want them
        with zipfile.ZipFile(path, "w", compression=method) as archive:
            for name, data in files.items():
                archive.writestr(name, data)
    return path


def make_archive(path: Path, files: dict[str, bytes]) -> Path:
    """A zip (`.zip`, `.mar`) or a gzipped tar (`.tar.gz`, `.tgz`), by the suffix of `path`."""
    if path.name.endswith((".zip", ".mar")):
        return make_zip(path, files)
    return make_tar_gz(path, files)


def add_zip_member(path: Path, name: str, data: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the duplicate-name warning, when that is the point
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr(name, data)


def add_zip_symlink(path: Path, name: str, target: str) -> None:
    """Adds a member whose Unix mode says symbolic link, as `zip --symlinks` writes it."""
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr(info, target)


def make_tar_gz(path: Path, files: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def add_tar_entry(path: Path, info: tarfile.TarInfo) -> Path:
    """Rewrites the .tar.gz at `path` with one more (data-less) member such as a link or device."""
    members: list[tuple[tarfile.TarInfo, io.BytesIO | None]] = []
    with tarfile.open(path, "r:gz") as old:
        for member in old:
            stream = old.extractfile(member)
            members.append((member, io.BytesIO(stream.read()) if stream else None))
    with tarfile.open(path, "w:gz") as archive:
        for member, data in members:
            archive.addfile(member, data)
        archive.addfile(info)
    return path


def tar_link(name: str, target: str, kind: bytes) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info


def files_under(root: Path) -> set[str]:
    """Every file below `root` as a relative POSIX path, hidden ones included."""
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
