"""The snapshot folder: `{LOG_LOCATION}/config/<yyyyMMddHHmmssSSS>-<kind>.cfg`, written atomically.

Names carry local time, as TorchServe's do, and are unique and ordered by writing order: a name
that would not sort after the newest one in the folder (two writes in one millisecond, or the
clock stepping back) takes the newest one's time plus one millisecond. So the newest file is the
one whose name sorts last.

A write goes to a hidden temporary file in the same folder, is flushed and fsynced, renamed onto
its name, and the folder is fsynced: a crash at any instant leaves the previous snapshots and
either the whole new one or none of it (at most a hidden temporary file, which is never read and
is removed by a later write once it is a minute old).

Writing blocks on the disk: call `write` from a thread, not on the event loop.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from repository_server.errors import ConfigurationError
from repository_server.snapshots.snapshot import ConfigSnapshot, SnapshotError, parse_snapshot

logger = logging.getLogger(__name__)

KINDS = ("startup", "snapshot", "shutdown")
SNAPSHOT_NAME = re.compile(r"(?P<stamp>[0-9]{17})-(?P<kind>startup|snapshot|shutdown)\.cfg")
TEMPORARY_NAME = re.compile(r"\.[0-9]{17}-(startup|snapshot|shutdown)\.cfg\.[0-9]+\.tmp")
STALE_TEMPORARY_SECS = 60.0
_STAMP_FORMAT = "%Y%m%d%H%M%S"


def format_stamp(moment: datetime) -> str:
    """`yyyyMMddHHmmssSSS`, TorchServe's file name prefix."""
    return moment.strftime(_STAMP_FORMAT) + f"{moment.microsecond // 1000:03d}"


def parse_stamp(stamp: str) -> datetime:
    return datetime.strptime(stamp[:14], _STAMP_FORMAT).replace(
        microsecond=int(stamp[14:17]) * 1000
    )


class SnapshotStore:
    """Writes, prunes, lists and reads the snapshots of one folder."""

    def __init__(
        self, directory: Path, keep: int = 20, clock: Callable[[], datetime] = datetime.now
    ) -> None:
        if keep < 1:
            raise ValueError(f"keep must be at least 1, got {keep}")
        self.directory = directory
        self.keep = keep
        self._clock = clock
        self._last_stamp = ""
        # One write at a time, so names are issued in the order files appear.
        self._lock = threading.Lock()

    def paths(self) -> list[Path]:
        """The snapshot files, oldest first; other files in the folder are left alone."""
        try:
            names = [entry.name for entry in os.scandir(self.directory)]
        except FileNotFoundError:
            return []
        except OSError as error:
            raise ConfigurationError(
                f"config snapshots: {str(self.directory)!r} cannot be read as a folder "
                f"({error.strerror or error}); fix LOG_LOCATION or start with "
                "--no-config-snapshots"
            ) from None
        return [self.directory / name for name in sorted(names) if SNAPSHOT_NAME.fullmatch(name)]

    def write(self, kind: str, snapshot: ConfigSnapshot) -> Path:
        """Writes `snapshot` as a new `<stamp>-<kind>.cfg`, prunes to `keep`, returns the path."""
        if kind not in KINDS:
            raise ValueError(f"snapshot kind must be one of {', '.join(KINDS)}, got {kind!r}")
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            stamp = self._next_stamp()
            name = f"{stamp}-{kind}.cfg"
            created = int(parse_stamp(stamp).timestamp() * 1000)
            data = snapshot.to_text(name, created).encode("ascii")
            path = self.directory / name
            self._write_atomically(path, data)
            self._prune()
        return path

    def _next_stamp(self) -> str:
        newest = max([self._last_stamp, *(path.name[:17] for path in self.paths())], default="")
        stamp = format_stamp(self._clock())
        if newest and stamp <= newest:
            stamp = format_stamp(parse_stamp(newest) + timedelta(milliseconds=1))
        self._last_stamp = stamp
        return stamp

    def _write_atomically(self, path: Path, data: bytes) -> None:
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            if path.exists():  # names are unique; never overwrite one all the same
                raise FileExistsError(f"config snapshot {path} already exists")
            temporary.replace(path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        _fsync_directory(self.directory)

    def _prune(self) -> None:
        for old in self.paths()[: -self.keep]:
            old.unlink(missing_ok=True)
        # A crash between creating and renaming a temporary file leaves it behind; another
        # process may be writing one right now, so only old ones go.
        now = time.time()
        for entry in os.scandir(self.directory):
            if TEMPORARY_NAME.fullmatch(entry.name):
                try:
                    if now - entry.stat().st_mtime > STALE_TEMPORARY_SECS:
                        Path(entry.path).unlink(missing_ok=True)
                except FileNotFoundError:
                    continue

    def load(self, path: Path) -> ConfigSnapshot:
        """Reads one snapshot file; SnapshotError names the file when it is corrupt."""
        try:
            data = path.read_bytes()
        except OSError as error:
            raise SnapshotError(f"{path}: cannot read: {error.strerror or error}") from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise SnapshotError(f"{path}: corrupt: not text") from None
        return parse_snapshot(text, str(path))

    def newest_valid(self) -> tuple[Path, ConfigSnapshot] | None:
        """The newest snapshot that reads whole; each one skipped is logged with its reason."""
        for path in reversed(self.paths()):
            try:
                return path, self.load(path)
            except SnapshotError as error:
                logger.warning("skipping config snapshot %s: %s", path.name, error)
        return None


def _fsync_directory(directory: Path) -> None:
    """Makes the rename itself durable (POSIX); Windows cannot open a folder to fsync it."""
    if os.name != "posix":  # pragma: no cover
        return
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
