"""When a version folder's files have stopped changing, so it may be loaded."""

from __future__ import annotations

import time
from collections.abc import Callable

from repository_server.repository.scanner import VersionEntry


class SettleTracker:
    """A version folder is settled once its newest file change (mtime or ctime, so `cp -p` is
    caught too) is `settle_secs` old. A folder published by renaming a finished copy into place
    is loaded at once when its files are already old; one renamed into place from a hidden name
    right after it was written (`cp -r new m/.3.tmp && mv m/.3.tmp 3`) is loaded at once too, when
    the watcher saw the rename (`mark_published`) and nothing changed in it since. Where the clock
    disagrees with the file system (a change time in
    the future, a network share), the folder must instead be seen unchanged for `settle_secs`."""

    def __init__(
        self,
        settle_secs: float,
        *,
        wall_clock_ns: Callable[[], int] = time.time_ns,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settle_secs = settle_secs
        self._wall_clock_ns = wall_clock_ns
        self._monotonic = monotonic
        # (model, version) -> (fingerprint, when first seen with it; None = at the first scan)
        self._seen: dict[tuple[str, int], tuple[str, float | None]] = {}
        self._first_scan = True
        self._earliest_recheck: float | None = None
        # (model, version or None for the whole model folder) -> when its rename into place was
        # seen (wall clock ns).
        self._published: dict[tuple[str, int | None], int] = {}

    def first_scan_done(self) -> None:
        self._first_scan = False

    def mark_published(self, model: str, version: int | None, seen_ns: int) -> None:
        """The watcher saw the folder (a version, or with None the whole model folder) renamed
        into place from a hidden name at `seen_ns`."""
        self._published[(model, version)] = seen_ns

    def _published_since(self, model: str, version: VersionEntry) -> bool:
        for key in ((model, version.version), (model, None)):
            seen = self._published.get(key)
            if seen is not None and version.newest_change_ns <= seen:
                return True
        return False

    def is_settled(self, model: str, version: VersionEntry) -> bool:
        if self.settle_secs <= 0 or self._published_since(model, version):
            return True
        now = self._monotonic()
        age = (self._wall_clock_ns() - version.newest_change_ns) / 1e9
        if age >= 0:
            wait = self.settle_secs - age
        else:
            key = (model, version.version)
            seen = self._seen.get(key)
            if seen is None or seen[0] != version.fingerprint:
                seen = (version.fingerprint, None if self._first_scan else now)
                self._seen[key] = seen
            stable_since = seen[1]
            wait = 0.0 if stable_since is None else stable_since + self.settle_secs - now
        if wait > 0:
            self._note_recheck(wait)
            return False
        return True

    def _note_recheck(self, wait: float) -> None:
        if self._earliest_recheck is None or wait < self._earliest_recheck:
            self._earliest_recheck = wait

    def take_recheck_delay(self) -> float | None:
        """Seconds until the soonest unsettled folder may settle (then forgotten), or None."""
        delay, self._earliest_recheck = self._earliest_recheck, None
        return delay

    def forget(self, model: str, keep_versions: set[int] | None = None) -> None:
        for key in [k for k in self._seen if k[0] == model]:
            if keep_versions is None or key[1] not in keep_versions:
                del self._seen[key]
        for published in [k for k in self._published if k[0] == model]:
            if keep_versions is None or published[1] not in keep_versions:
                del self._published[published]
