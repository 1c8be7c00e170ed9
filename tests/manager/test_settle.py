import os
import shutil
import time
from pathlib import Path

from repository_server.manager.settle import SettleTracker
from repository_server.repository import RepositoryScanner
from repository_server.repository.scanner import VersionEntry
from tests.waiting import wait_until

SECOND = 1_000_000_000


class Clock:
    def __init__(self) -> None:
        self.wall_ns = 1_000 * SECOND
        self.mono = 100.0

    def advance(self, seconds: float) -> None:
        self.wall_ns += int(seconds * SECOND)
        self.mono += seconds


def version(fingerprint: str, mtime_ns: int) -> VersionEntry:
    return VersionEntry(1, Path("m/1"), fingerprint, frozenset({"model.onnx"}), mtime_ns, 1)


def tracker(clock: Clock, settle: float = 0.5) -> SettleTracker:
    return SettleTracker(settle, wall_clock_ns=lambda: clock.wall_ns, monotonic=lambda: clock.mono)


def test_old_files_at_the_first_scan_are_settled():
    clock = Clock()
    settle = tracker(clock)
    assert settle.is_settled("m", version("a", clock.wall_ns - 10 * SECOND))


def test_fresh_files_wait_for_the_settle_time():
    clock = Clock()
    settle = tracker(clock)
    settle.first_scan_done()
    fresh = version("a", clock.wall_ns)
    assert not settle.is_settled("m", fresh)
    assert settle.take_recheck_delay() == 0.5
    clock.advance(0.6)
    assert settle.is_settled("m", fresh)


def test_a_folder_renamed_into_place_is_settled_until_it_changes():
    clock = Clock()
    settle = tracker(clock, settle=60)
    settle.first_scan_done()
    copied = version("a", clock.wall_ns)
    assert not settle.is_settled("m", copied)
    clock.advance(0.01)
    settle.mark_published("m", 1, clock.wall_ns)  # the watcher saw `mv m/.1.tmp m/1`
    assert settle.is_settled("m", copied)
    # A file written into it after the rename: the usual wait again.
    clock.advance(0.01)
    assert not settle.is_settled("m", version("b", clock.wall_ns))
    # A whole model folder renamed into place covers its versions; forgetting the model drops it.
    settle.mark_published("n", None, clock.wall_ns)
    assert settle.is_settled("n", version("c", clock.wall_ns - 1))
    settle.forget("n")
    assert not settle.is_settled("n", version("c", clock.wall_ns - 1))


def test_a_copy_that_back_dates_mtime_is_caught_by_ctime(tmp_path):
    source = tmp_path / "source.onnx"
    source.write_bytes(b"model")
    an_hour_ago = time.time() - 3600
    os.utime(source, (an_hour_ago, an_hour_ago))
    (tmp_path / "repository" / "m" / "1").mkdir(parents=True)
    shutil.copy2(source, tmp_path / "repository" / "m" / "1" / "model.onnx")  # cp -p
    entry = RepositoryScanner(tmp_path / "repository").scan().models["m"].versions[1]
    settle = SettleTracker(5.0)
    settle.first_scan_done()
    assert not settle.is_settled("m", entry)


def test_renaming_a_finished_copy_into_place_is_settled_at_once(tmp_path):
    staging = tmp_path / "repository" / "m" / ".1.tmp"
    staging.mkdir(parents=True)
    (staging / "model.onnx").write_bytes(b"model")
    settle = SettleTracker(0.2)
    settle.first_scan_done()
    written = time.time()
    wait_until(lambda: time.time() - written > 0.25)  # the copy finished a while ago
    staging.rename(staging.with_name("1"))
    entry = RepositoryScanner(tmp_path / "repository").scan().models["m"].versions[1]
    assert settle.is_settled("m", entry)


def test_mtime_in_the_future_uses_stability_only():
    clock = Clock()
    settle = tracker(clock)
    settle.first_scan_done()
    future = version("a", clock.wall_ns + 3600 * SECOND)
    assert not settle.is_settled("m", future)
    clock.advance(0.6)
    assert settle.is_settled("m", future)


def test_zero_settle_time_loads_at_once():
    clock = Clock()
    settle = tracker(clock, settle=0)
    settle.first_scan_done()
    assert settle.is_settled("m", version("a", clock.wall_ns))
