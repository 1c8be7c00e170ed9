"""Unpacking real archives: layouts, atomic publish, and every zip-slip and zip-bomb refusal."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

import pytest

from repository_server.errors import ConflictError, InvalidRequestError
from repository_server.repository.scanner import RepositoryScanner
from repository_server.sources import UnsafeArchiveError, unpack_archive
from repository_server.sources.unpack import remove_stale_staging
from tests.sources.archive_files import (
    add_tar_entry,
    add_zip_member,
    add_zip_symlink,
    files_under,
    make_archive,
    make_tar_gz,
    make_zip,
    tar_link,
)

LIMITS = {"max_bytes": 1 << 20, "max_files": 100}
CONFIG = json.dumps({"backend": "onnxruntime"}).encode()


def unpack(archive: Path, repository: Path, name: str = "mlp", **limits: int) -> Path:
    return unpack_archive(archive, repository / name, **{**LIMITS, **limits})


def assert_nothing_written(repository: Path, tmp_path: Path) -> None:
    """No model folder, no hidden staging folder left, nothing outside the repository."""
    assert list(repository.iterdir()) == []
    assert not (tmp_path / "evil").exists()


@pytest.mark.parametrize("suffix", [".zip", ".mar", ".tar.gz", ".tgz"])
def test_model_folder_layout_is_unpacked_as_is(
    repository: Path, tmp_path: Path, suffix: str
) -> None:
    files = {"config.json": CONFIG, "1/model.onnx": b"one", "2/model.onnx": b"two"}
    archive = make_archive(tmp_path / f"mlp{suffix}", files)

    folder = unpack(archive, repository)

    assert folder == repository / "mlp"
    assert files_under(folder) == set(files)
    assert (folder / "2" / "model.onnx").read_bytes() == b"two"
    model = RepositoryScanner(repository).scan().models["mlp"]
    assert sorted(model.versions) == [1, 2]


def test_a_wrapping_folder_is_stripped(repository: Path, tmp_path: Path) -> None:
    archive = make_tar_gz(
        tmp_path / "m.tar.gz", {"mlp/config.json": CONFIG, "mlp/3/model.onnx": b"three"}
    )
    folder = unpack(archive, repository)
    assert files_under(folder) == {"config.json", "3/model.onnx"}


def test_a_lone_version_folder_is_not_taken_for_a_wrapper(repository: Path, tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "m.zip", {"4/model.onnx": b"four"})
    assert files_under(unpack(archive, repository)) == {"4/model.onnx"}


def test_a_torchserve_mar_is_a_bare_version_1(repository: Path, tmp_path: Path) -> None:
    manifest = json.dumps({"model": {"modelName": "mlp", "modelVersion": "1.0"}}).encode()
    archive = make_zip(
        tmp_path / "mlp.mar", {"MAR-INF/MANIFEST.json": manifest, "model.onnx": b"onnx"}
    )
    folder = unpack(archive, repository)
    assert files_under(folder) == {"1/model.onnx"}  # the manifest is read, not unpacked
    assert list(RepositoryScanner(repository).scan().models["mlp"].versions) == [1]


def test_a_bare_version_keeps_its_config_at_the_model_level(
    repository: Path, tmp_path: Path
) -> None:
    archive = make_zip(tmp_path / "m.zip", {"config.json": CONFIG, "model.onnx": b"onnx"})
    assert files_under(unpack(archive, repository)) == {"config.json", "1/model.onnx"}


def test_an_existing_model_folder_is_a_conflict_and_stays_untouched(
    repository: Path, tmp_path: Path
) -> None:
    (repository / "mlp" / "1").mkdir(parents=True)
    (repository / "mlp" / "1" / "model.onnx").write_bytes(b"old")
    archive = make_zip(tmp_path / "m.zip", {"1/model.onnx": b"new"})

    with pytest.raises(ConflictError) as caught:
        unpack(archive, repository)

    assert caught.value.status == 409
    assert caught.value.message == (
        "Model folder mlp already exists in the model repository; choose another model_name"
    )
    assert str(repository) not in caught.value.message
    assert (repository / "mlp" / "1" / "model.onnx").read_bytes() == b"old"
    assert [p.name for p in repository.iterdir()] == ["mlp"]


@pytest.mark.parametrize(
    ("member", "why"),
    [
        ("../evil", "'..' path component"),
        ("1/../../evil", "'..' path component"),
        ("/tmp/evil", "absolute path"),
        ("C:/evil", "absolute path"),
        ("1\\..\\..\\evil", "backslash"),
    ],
)
@pytest.mark.parametrize("name", ["m.zip", "m.tar.gz"])
def test_zip_slip_members_are_refused_before_anything_is_written(
    repository: Path, tmp_path: Path, member: str, why: str, name: str
) -> None:
    # The hostile member comes last: the safe one before it must not have been written either.
    archive = make_archive(tmp_path / name, {"1/model.onnx": b"ok", member: b"pwned"})
    with pytest.raises(UnsafeArchiveError) as caught:
        unpack(archive, repository)
    assert caught.value.status == 400
    assert repr(member) in caught.value.message
    assert why in caught.value.message
    assert "nothing was unpacked" in caught.value.message
    assert_nothing_written(repository, tmp_path)


@pytest.mark.parametrize(
    ("link", "kind"),
    [
        (tar_link("1/model.onnx", "/etc/passwd", tarfile.SYMTYPE), "symbolic link"),
        (tar_link("1/inside", "model.onnx", tarfile.SYMTYPE), "symbolic link"),
        (tar_link("1/hard", "1/model.onnx", tarfile.LNKTYPE), "hard link"),
        (tar_link("1/hard", "../../evil", tarfile.LNKTYPE), "hard link"),
    ],
)
def test_tar_links_are_refused(
    repository: Path, tmp_path: Path, link: tarfile.TarInfo, kind: str
) -> None:
    archive = add_tar_entry(make_tar_gz(tmp_path / "m.tgz", {"1/model.onnx": b"ok"}), link)
    with pytest.raises(UnsafeArchiveError, match=kind):
        unpack(archive, repository)
    assert_nothing_written(repository, tmp_path)


@pytest.mark.parametrize("kind", [tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE])
def test_tar_devices_and_fifos_are_refused(repository: Path, tmp_path: Path, kind: bytes) -> None:
    device = tar_link("1/dev", "", kind)
    archive = add_tar_entry(make_tar_gz(tmp_path / "m.tgz", {"1/model.onnx": b"ok"}), device)
    with pytest.raises(UnsafeArchiveError, match="device, fifo or special file"):
        unpack(archive, repository)
    assert_nothing_written(repository, tmp_path)


def test_zip_symlinks_are_refused(repository: Path, tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "m.zip", {"1/model.onnx": b"ok"})
    add_zip_symlink(archive, "1/link", "/etc/passwd")
    with pytest.raises(UnsafeArchiveError, match="'1/link' is a symbolic link"):
        unpack(archive, repository)
    assert_nothing_written(repository, tmp_path)


@pytest.mark.parametrize("name", ["m.zip", "m.tgz"])
def test_a_zip_bomb_is_refused_by_its_unpacked_size(
    repository: Path, tmp_path: Path, name: str
) -> None:
    # 4 MiB of zeros compress to a few KiB: the archive is small, what it unpacks to is not.
    archive = make_archive(tmp_path / name, {"1/model.onnx": bytes(4 << 20)})
    assert archive.stat().st_size < 64 << 10
    with pytest.raises(UnsafeArchiveError, match=f"over the limit of {1 << 20}"):
        unpack(archive, repository)
    assert_nothing_written(repository, tmp_path)


@pytest.mark.parametrize("name", ["m.zip", "m.tgz"])
def test_too_many_members_are_refused(repository: Path, tmp_path: Path, name: str) -> None:
    files = {f"1/part{i}.bin": b"x" for i in range(12)}
    archive = make_archive(tmp_path / name, files)
    with pytest.raises(UnsafeArchiveError, match="more than 10 members"):
        unpack(archive, repository, max_files=10)
    assert_nothing_written(repository, tmp_path)


def test_a_duplicate_member_is_refused_and_cleaned_up(repository: Path, tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "m.zip", {"1/model.onnx": b"a"})
    add_zip_member(archive, "1/model.onnx", b"b")
    with pytest.raises(UnsafeArchiveError, match="appears twice"):
        unpack(archive, repository)
    assert_nothing_written(repository, tmp_path)


def test_a_damaged_member_leaves_nothing_behind(repository: Path, tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "m.zip", {"1/a.bin": b"A" * 1000, "1/b.bin": b"B" * 1000}, compress=False
    )
    data = bytearray(archive.read_bytes())
    data[data.index(b"B" * 1000) + 500] = ord("X")  # the stored CRC no longer matches
    archive.write_bytes(bytes(data))

    with pytest.raises(
        InvalidRequestError, match=re.escape("m.zip is damaged at member '1/b.bin'")
    ):
        unpack(archive, repository)
    assert_nothing_written(repository, tmp_path)


@pytest.mark.parametrize("name", ["m.zip", "m.mar", "m.tar.gz", "m.tgz"])
def test_a_file_that_is_no_archive_is_refused(repository: Path, tmp_path: Path, name: str) -> None:
    archive = tmp_path / name
    archive.write_bytes(b"this is not an archive at all" * 10)
    with pytest.raises(InvalidRequestError, match=re.escape(f"{name} is not a valid")):
        unpack(archive, repository)
    assert_nothing_written(repository, tmp_path)


def test_a_truncated_tar_gz_is_refused(repository: Path, tmp_path: Path) -> None:
    archive = make_tar_gz(tmp_path / "m.tgz", {"1/model.onnx": bytes(range(256)) * 400})
    archive.write_bytes(archive.read_bytes()[:-200])
    with pytest.raises(InvalidRequestError, match=re.escape("m.tgz")):
        unpack(archive, repository)
    assert_nothing_written(repository, tmp_path)


def test_an_empty_archive_is_refused(repository: Path, tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "m.zip", {"1/": b""})
    with pytest.raises(UnsafeArchiveError, match="holds no files"):
        unpack(archive, repository)
    assert_nothing_written(repository, tmp_path)


def test_an_unknown_archive_suffix_is_refused(repository: Path, tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "m.rar", {"1/model.onnx": b"x"})
    with pytest.raises(
        InvalidRequestError,
        match=re.escape("m.rar is not a model archive: expected one of .tar.gz"),
    ):
        unpack(archive, repository)


def test_concurrent_unpacks_to_one_model_publish_exactly_one(
    repository: Path, tmp_path: Path
) -> None:
    archives = [
        make_zip(tmp_path / f"m{i}.zip", {f"1/part{n}.bin": bytes([i]) * 1000 for n in range(50)})
        for i in range(4)
    ]
    barrier = threading.Barrier(len(archives))
    outcomes: list[str] = []

    def publish(archive: Path) -> None:
        barrier.wait()
        try:
            unpack(archive, repository)
            outcomes.append("published")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=publish, args=(archive,)) for archive in archives]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["conflict"] * 3 + ["published"]
    assert [p.name for p in repository.iterdir()] == ["mlp"]  # no staging folder left
    contents = {(repository / "mlp" / "1" / f"part{n}.bin").read_bytes()[:1] for n in range(50)}
    assert len(contents) == 1  # all files from one archive, never a mix


_FULL_DISK_SCRIPT = """
import resource, signal, sys
from pathlib import Path
from repository_server.sources.unpack import UnpackFailedError, unpack_model

# Writes past 64 KiB fail with EFBIG, as they would on a full disk.
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (65536, 65536))
archive, repository = Path(sys.argv[1]), Path(sys.argv[2])
try:
    unpack_model(archive, repository, model_name=None, default_name="big",
                 max_bytes=1 << 30, max_files=100)
except UnpackFailedError as error:
    print(error.status, error.message)
"""


def test_a_write_that_fails_names_the_archive_and_leaves_nothing(tmp_path):
    archive = make_zip(tmp_path / "big.zip", {"1/model.onnx": b"x" * 200_000})
    repository = tmp_path / "repository"
    repository.mkdir()
    result = subprocess.run(
        [sys.executable, "-c", _FULL_DISK_SCRIPT, str(archive), str(repository)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == (
        "500 cannot unpack big.zip into the model repository as model big: writing "
        "'1/model.onnx' failed: File too large"
    ), result.stderr
    assert list(repository.iterdir()) == []


def test_staging_left_by_a_crash_is_removed_once_old(tmp_path):
    repository = tmp_path / "repository"
    old = repository / ".mlp.tmp-abcd1234"
    (old / "1").mkdir(parents=True)
    (old / "1" / "model.onnx").write_bytes(b"half")
    fresh = repository / ".other.tmp-wxyz9876"
    fresh.mkdir()
    users_own = repository / "mlp" / ".3.tmp"  # a user's staging, README's publish pattern
    users_own.mkdir(parents=True)
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    assert remove_stale_staging(repository) == [".mlp.tmp-abcd1234"]
    assert not old.exists()
    assert fresh.exists()  # maybe another server's unpack under way
    assert users_own.exists()
