import logging
import os
import subprocess
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path

import pytest

from repository_server.snapshots import ConfigSnapshot, ModelSnapshotEntry, SnapshotStore
from repository_server.snapshots.store import format_stamp

MOMENT = datetime(2025, 3, 29, 4, 53, 34, 828_000)


def names_in(folder: Path) -> list[str]:
    return [path.name for path in folder.iterdir()]


def snapshot(workers: int = 1) -> ConfigSnapshot:
    entry = ModelSnapshotEntry(True, "mlp", workers, workers)
    return ConfigSnapshot({"model_control_mode": "explicit"}, {"mlp": {1: entry}})


def test_names_are_local_time_stamps_and_kinds(tmp_path):
    store = SnapshotStore(tmp_path / "config")
    before = format_stamp(datetime.now())
    path = store.write("startup", snapshot())
    after = format_stamp(datetime.now())
    stamp, kind = path.name.split("-")
    assert kind == "startup.cfg"
    assert len(stamp) == 17
    assert before <= stamp <= after
    assert path.parent == tmp_path / "config"  # the folder is created


def test_names_are_unique_and_ordered_within_one_millisecond(tmp_path):
    store = SnapshotStore(tmp_path, keep=10, clock=lambda: MOMENT)
    names = [store.write(kind, snapshot()).name for kind in ("startup", "snapshot", "shutdown")]
    assert names == [
        "20250329045334828-startup.cfg",
        "20250329045334829-snapshot.cfg",
        "20250329045334830-shutdown.cfg",
    ]
    assert [p.name for p in store.paths()] == names


def test_names_stay_ordered_when_the_clock_steps_back_or_another_process_wrote(tmp_path):
    SnapshotStore(tmp_path, clock=lambda: MOMENT).write("shutdown", snapshot())
    # A new process whose clock is an hour behind (a DST change) still writes after it.
    earlier = MOMENT.replace(hour=3)
    path = SnapshotStore(tmp_path, clock=lambda: earlier).write("startup", snapshot(2))
    assert path.name == "20250329045334829-startup.cfg"
    newest = SnapshotStore(tmp_path).newest_valid()
    assert newest is not None
    assert newest[0] == path


def test_created_matches_the_name(tmp_path):
    store = SnapshotStore(tmp_path, clock=lambda: MOMENT)
    path = store.write("snapshot", snapshot())
    loaded = store.load(path)
    assert loaded.name == path.name
    assert loaded.created == int(MOMENT.timestamp() * 1000)


def test_write_leaves_no_temporary_files(tmp_path):
    store = SnapshotStore(tmp_path, keep=3)
    for workers in range(1, 6):
        store.write("snapshot", snapshot(workers))
    names = sorted(names_in(tmp_path))
    assert len(names) == 3
    assert all(name.endswith("-snapshot.cfg") and not name.startswith(".") for name in names)


def test_pruning_keeps_the_newest(tmp_path):
    store = SnapshotStore(tmp_path, keep=2)
    written = [store.write("snapshot", snapshot(workers)) for workers in range(1, 5)]
    assert store.paths() == written[-2:]
    assert [store.load(p).models["mlp"][1].min_workers for p in store.paths()] == [3, 4]


def test_other_files_in_the_folder_are_left_alone(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "backup-startup.cfg").write_text("mine")
    store = SnapshotStore(tmp_path, keep=1)
    store.write("snapshot", snapshot())
    store.write("snapshot", snapshot())
    (newest,) = store.paths()
    assert sorted(names_in(tmp_path)) == sorted(["backup-startup.cfg", "notes.txt", newest.name])


def test_truncated_newest_is_skipped_for_the_previous_good_one(tmp_path, caplog):
    store = SnapshotStore(tmp_path)
    good = store.write("snapshot", snapshot(2))
    newest = store.write("snapshot", snapshot(3))
    data = newest.read_bytes()
    newest.write_bytes(data[: len(data) // 2])
    with caplog.at_level(logging.WARNING):
        found = store.newest_valid()
    assert found is not None
    assert found[0] == good
    assert found[1].models["mlp"][1].min_workers == 2
    (warning,) = caplog.records
    assert warning.levelno == logging.WARNING
    assert newest.name in warning.getMessage()
    assert "truncated" in warning.getMessage()


def test_empty_and_unreadable_newest_are_skipped(tmp_path, caplog):
    store = SnapshotStore(tmp_path, clock=lambda: MOMENT)
    good = store.write("snapshot", snapshot())
    (tmp_path / "20250329045334830-snapshot.cfg").write_bytes(b"")
    (tmp_path / "20250329045334831-shutdown.cfg").mkdir()
    (tmp_path / "20250329045334832-shutdown.cfg").write_bytes(b"\xff\xfe garbage")
    with caplog.at_level(logging.WARNING):
        found = store.newest_valid()
    assert found is not None
    assert found[0] == good
    assert len(caplog.records) == 3


def test_no_snapshot_at_all(tmp_path):
    assert SnapshotStore(tmp_path / "missing").newest_valid() is None
    assert SnapshotStore(tmp_path).newest_valid() is None


def test_a_crash_before_the_rename_leaves_the_previous_snapshot(tmp_path):
    # A real process dies at the worst moment: the new file is written and fsynced under its
    # temporary name, and the rename never happens.
    script = textwrap.dedent(
        """
        import os, sys
        from pathlib import Path
        from repository_server.snapshots import ConfigSnapshot, ModelSnapshotEntry, SnapshotStore

        store = SnapshotStore(Path(sys.argv[1]))
        def entry(workers):
            return {"mlp": {1: ModelSnapshotEntry(True, "mlp", workers, workers)}}
        store.write("snapshot", ConfigSnapshot({}, entry(2)))
        Path.replace = lambda self, target: os._exit(9)
        store.write("snapshot", ConfigSnapshot({}, entry(5)))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, timeout=60, check=False
    )
    assert result.returncode == 9, result.stderr
    leftovers = [name for name in names_in(tmp_path) if name.endswith(".tmp")]
    assert len(leftovers) == 1
    found = SnapshotStore(tmp_path).newest_valid()
    assert found is not None
    assert found[1].models["mlp"][1].min_workers == 2


def test_old_temporary_files_are_removed_by_a_later_write(tmp_path):
    stale = tmp_path / ".20250329045334828-snapshot.cfg.123.tmp"
    fresh = tmp_path / ".20250329045334829-snapshot.cfg.456.tmp"
    stale.write_text("half")
    fresh.write_text("being written by another process")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    SnapshotStore(tmp_path).write("snapshot", snapshot())
    assert not stale.exists()
    assert fresh.exists()


def test_bad_kind_and_keep_are_refused(tmp_path):
    with pytest.raises(ValueError, match="kind must be one of startup, snapshot, shutdown"):
        SnapshotStore(tmp_path).write("backup", snapshot())
    with pytest.raises(ValueError, match="keep must be at least 1"):
        SnapshotStore(tmp_path, keep=0)


def test_a_torchserve_snapshot_folder_is_restored_from(tmp_path):
    # TorchServe writes no end marker; its files are whole when their JSON parses.
    (tmp_path / "20210105172147102-startup.cfg").write_text(
        "#Saving snapshot\n"
        'model_snapshot={\\n  "name"\\: "20210105172147102-startup.cfg",\\n  "modelCount"\\: 1,'
        '\\n  "created"\\: 1609847507107,\\n  "models"\\: {"mnist"\\: {"1.0"\\: {'
        '"defaultVersion"\\: true, "marName"\\: "mnist.mar", "minWorkers"\\: 8, '
        '"maxWorkers"\\: 8, "batchSize"\\: 1, "maxBatchDelay"\\: 100}}}\\n}\n'
    )
    found = SnapshotStore(tmp_path).newest_valid()
    assert found is not None
    assert found[1].models["mnist"][1].min_workers == 8
