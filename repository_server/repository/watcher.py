"""Watches the repository: file events (watchdog, debounced) and a periodic poll, as an iterator.

Each `next(watcher)` blocks until the repository may have changed and says why ("change" or
"poll"); it raises StopIteration once the stop event is set. The poll also covers file systems
that send no events (NFS, some container mounts).
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from repository_server.repository.layout import is_hidden

# watchdog's inotify thread warns when a folder renamed into the tree (`mv .3.tmp 3`) is watched
# twice; the watch still works, so the warning is only noise in the server's log.
warnings.filterwarnings("ignore", message="Callback with id", category=RuntimeWarning)

logger = logging.getLogger(__name__)

# Reads do not change the repository (and backends read model files while loading).
_IGNORED_EVENTS = frozenset({"opened", "closed_no_write"})


class _ChangeHandler(FileSystemEventHandler):
    def __init__(self, root: Path, on_change: Any, on_publish: Any) -> None:
        self._root = str(root)
        self._on_change = on_change
        self._on_publish = on_publish

    def _relative(self, path: str | bytes) -> str:
        text = path.decode() if isinstance(path, bytes) else path
        return text[len(self._root) :].strip("/")

    def _relevant(self, path: str | bytes) -> bool:
        relative = self._relative(path)
        # `.3.tmp/...` is a version being staged; only its rename to `3` counts.
        return bool(relative) and not any(is_hidden(part) for part in relative.split("/"))

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type in _IGNORED_EVENTS:
            return
        if event.is_directory and event.event_type == "modified":
            return  # always comes with the child's own event, which says if it is hidden
        dest_relevant = bool(event.dest_path) and self._relevant(event.dest_path)
        if dest_relevant and event.is_directory and event.event_type == "moved":
            source = self._relative(event.src_path).split("/")
            if is_hidden(source[-1]):
                # A staged folder renamed into place: complete, whatever its files' ages.
                self._on_publish(self._relative(event.dest_path))
        if dest_relevant or self._relevant(event.src_path):
            self._on_change()


class _RootHandler(FileSystemEventHandler):
    """Events in the repository's parent folder that name the repository itself: its own watch
    does not report that it was moved away or back (inotify's IN_MOVE_SELF)."""

    def __init__(self, root: Path, on_change: Any) -> None:
        self._root = str(root)  # absolute, as the parent's events name it
        self._on_change = on_change

    def on_any_event(self, event: FileSystemEvent) -> None:
        if self._root in (event.src_path, event.dest_path) and event.event_type != "modified":
            self._on_change()


class RepositoryWatcher:
    """Iterator over repository changes, with a debounce and a polling fallback.

    `debounce_secs`: after an event, wait until the events have been quiet this long (so a copy
    of many files is one rescan), but never longer than `max_delay_secs`.
    """

    def __init__(
        self,
        root: Path,
        *,
        poll_secs: float,
        stop: threading.Event,
        use_events: bool = True,
        debounce_secs: float = 0.05,
        max_delay_secs: float = 0.5,
    ) -> None:
        self.root = root
        self.poll_secs = poll_secs
        self.stop = stop
        self.debounce_secs = debounce_secs
        self.max_delay_secs = max_delay_secs
        self._wake = threading.Event()
        self._last_event = 0.0
        self._observer: Any = None
        self._close_lock = threading.Lock()
        self._published: list[tuple[str, int]] = []
        self._published_lock = threading.Lock()
        if use_events:
            self._start_observer()

    def _start_observer(self) -> None:
        observer = Observer()
        try:
            observer.schedule(
                _ChangeHandler(self.root, self._on_event, self._on_publish),
                str(self.root),
                recursive=True,
            )
            observer.start()
        except OSError as error:
            fallback = (
                f"polling every {self.poll_secs:g} s" if self.poll_secs else "no rescans at all"
            )
            logger.warning("file events unavailable for %s (%s): %s", self.root, error, fallback)
            return
        self._observer = observer
        self._watch_root_itself(observer)

    def _watch_root_itself(self, observer: Any) -> None:
        root = self.root.absolute()
        if root.parent == root:
            return
        try:  # once the observer runs, so a parent that cannot be watched fails only this
            observer.schedule(_RootHandler(root, self._on_event), str(root.parent))
        except OSError as error:  # the repository's own events still work
            logger.debug("cannot watch %s for the repository being moved: %s", root.parent, error)

    @property
    def has_events(self) -> bool:
        return self._observer is not None

    def _on_event(self) -> None:
        self._last_event = time.monotonic()
        self._wake.set()

    def _on_publish(self, relative: str) -> None:
        with self._published_lock:
            self._published.append((relative, time.time_ns()))

    def take_published(self) -> list[tuple[str, int]]:
        """Folders (relative paths) renamed into place from a hidden name since the last call,
        with when the rename was seen (time.time_ns): published complete, by `mv .3.tmp 3`."""
        with self._published_lock:
            published, self._published = self._published, []
        return published

    def notify(self) -> None:
        """Makes the next `next()` return at once (a rescan asked for by someone else)."""
        self._on_event()

    def __iter__(self) -> RepositoryWatcher:
        return self

    def __next__(self) -> str:
        timeout = self.poll_secs if self.poll_secs > 0 else None
        woken = self._wake.wait(timeout)
        if self.stop.is_set():
            raise StopIteration
        if not woken:
            return "poll"
        self._debounce()
        if self.stop.is_set():
            raise StopIteration
        return "change"

    def _debounce(self) -> None:
        first = time.monotonic()
        while True:
            self._wake.clear()
            quiet_until = self._last_event + self.debounce_secs
            deadline = first + self.max_delay_secs
            now = time.monotonic()
            if now >= quiet_until or now >= deadline or self.stop.is_set():
                return
            self._wake.wait(min(quiet_until, deadline) - now)

    def close(self) -> None:
        """Stops the iteration and the file events; safe to call twice and from any thread."""
        self.stop.set()
        self._wake.set()
        with self._close_lock:
            observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            observer.join(timeout=5)
