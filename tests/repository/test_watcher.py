"""The watcher driven by hand, while a thread changes files 0.1 s later (as uvicorn tests its
reloaders)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from repository_server.repository.watcher import RepositoryWatcher


@pytest.fixture
def make_watcher(tmp_path: Path) -> Iterator[Callable[..., RepositoryWatcher]]:
    watchers: list[RepositoryWatcher] = []
    guards: list[threading.Timer] = []

    def make(**options: object) -> RepositoryWatcher:
        watcher = RepositoryWatcher(tmp_path, stop=threading.Event(), **options)  # type: ignore[arg-type]
        watchers.append(watcher)
        # A watcher that never wakes would hang the test: close it after 10 s so it fails instead.
        guard = threading.Timer(10, watcher.close)
        guard.start()
        guards.append(guard)
        return watcher

    yield make
    for guard in guards:
        guard.cancel()
    for watcher in watchers:
        watcher.close()


def later(action: Callable[[], object], delay: float = 0.1) -> None:
    threading.Timer(delay, action).start()


def test_a_new_folder_is_a_change(make_watcher, tmp_path):
    watcher = make_watcher(poll_secs=0)
    later(lambda: (tmp_path / "model" / "1").mkdir(parents=True))
    assert next(watcher) == "change"


def test_hidden_staging_is_ignored_until_renamed(make_watcher, tmp_path):
    (tmp_path / "model").mkdir()
    watcher = make_watcher(poll_secs=0.5)

    def stage() -> None:
        staging = tmp_path / "model" / ".3.tmp"
        staging.mkdir()
        (staging / "model.onnx").write_bytes(b"x" * 100)

    later(stage)
    assert next(watcher) == "poll"
    later(lambda: (tmp_path / "model" / ".3.tmp").rename(tmp_path / "model" / "3"))
    assert next(watcher) == "change"
    # The rename from a hidden name is reported as a publication of the folder.
    assert [relative for relative, _ in watcher.take_published()] == ["model/3"]
    assert watcher.take_published() == []


def test_reading_files_is_not_a_change(make_watcher, tmp_path):
    (tmp_path / "model" / "1").mkdir(parents=True)
    (tmp_path / "model" / "1" / "model.onnx").write_bytes(b"x")
    watcher = make_watcher(poll_secs=0.5)
    later(lambda: (tmp_path / "model" / "1" / "model.onnx").read_bytes())
    assert next(watcher) == "poll"


def test_a_burst_of_writes_is_one_change(make_watcher, tmp_path):
    watcher = make_watcher(poll_secs=0.5)

    def burst() -> None:
        folder = tmp_path / "model" / "1"
        folder.mkdir(parents=True)
        for index in range(50):
            (folder / f"file{index}").write_bytes(b"x")

    later(burst)
    assert next(watcher) == "change"
    assert next(watcher) == "poll"


def test_polling_without_events(make_watcher):
    watcher = make_watcher(poll_secs=0.05, use_events=False)
    assert not watcher.has_events
    assert next(watcher) == "poll"


def test_notify_wakes_the_watcher(make_watcher):
    watcher = make_watcher(poll_secs=0)
    later(watcher.notify)
    assert next(watcher) == "change"


def test_close_stops_the_iteration(make_watcher):
    watcher = make_watcher(poll_secs=0)
    later(watcher.close)
    assert list(watcher) == []


def test_close_from_two_threads_at_once_is_safe(make_watcher):
    watcher = make_watcher(poll_secs=0)
    closers = [threading.Thread(target=watcher.close) for _ in range(8)]
    for closer in closers:
        closer.start()
    for closer in closers:
        closer.join()
    watcher.close()
    assert not watcher.has_events
    assert list(watcher) == []
