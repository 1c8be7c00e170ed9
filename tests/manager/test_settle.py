from pathlib import Path

from repository_server.manager.settle import SettleTracker
from repository_server.repository.scanner import VersionEntry

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


def test_a_copy_that_keeps_old_mtimes_waits_until_unchanged():
    clock = Clock()
    settle = tracker(clock)
    settle.first_scan_done()
    old_mtime = clock.wall_ns - 3600 * SECOND  # cp -p: the mtime says an hour ago
    assert not settle.is_settled("m", version("partial", old_mtime))
    clock.advance(0.3)
    assert not settle.is_settled("m", version("more", old_mtime))  # still growing
    clock.advance(0.3)
    assert not settle.is_settled("m", version("more", old_mtime))
    clock.advance(0.3)
    assert settle.is_settled("m", version("more", old_mtime))


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
