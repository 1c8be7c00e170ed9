import asyncio
import logging

from repository_server.snapshots import (
    ConfigSnapshot,
    ModelSnapshotEntry,
    SnapshotStore,
    SnapshotWriter,
)


def snapshot(workers: int) -> ConfigSnapshot:
    entry = ModelSnapshotEntry(True, "mlp", workers, workers)
    return ConfigSnapshot({}, {"mlp": {1: entry}})


def workers_in(store: SnapshotStore) -> list[int]:
    return [store.load(path).models["mlp"][1].min_workers for path in store.paths()]


def test_writes_land_in_the_order_they_were_handed_over(tmp_path):
    store = SnapshotStore(tmp_path, keep=50)
    writer = SnapshotWriter(store)

    async def many_changes() -> None:
        await asyncio.gather(*(writer.write("snapshot", snapshot(n)) for n in range(1, 21)))

    asyncio.run(many_changes())
    assert workers_in(store) == list(range(1, 21))
    newest = store.newest_valid()
    assert newest is not None
    assert newest[1].models["mlp"][1].min_workers == 20


def test_a_failed_write_is_logged_not_raised(tmp_path, caplog):
    blocker = tmp_path / "logs"
    blocker.write_text("a file where the folder should be")
    writer = SnapshotWriter(SnapshotStore(blocker / "config"))
    with caplog.at_level(logging.ERROR):
        result = asyncio.run(writer.write("shutdown", snapshot(1)))
    assert result is None
    assert "config snapshot (shutdown) not written to" in caplog.text
