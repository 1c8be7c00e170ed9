"""Writing snapshots from the event loop: off it, in order, and never failing the change.

Each management change takes its snapshot on the event loop (a consistent view) and hands it
here. Writes run in a thread, one at a time, in the order they were handed over (asyncio.Lock
wakes its waiters first come, first served), so the newest file always holds the newest state.
A write that fails (disk full, folder gone) is logged: the change it records has happened and
is not undone for want of a snapshot.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from repository_server.errors import ConfigurationError
from repository_server.snapshots.snapshot import ConfigSnapshot
from repository_server.snapshots.store import SnapshotStore

logger = logging.getLogger(__name__)


class SnapshotWriter:
    def __init__(self, store: SnapshotStore) -> None:
        self.store = store
        self._turn = asyncio.Lock()

    async def write(self, kind: str, snapshot: ConfigSnapshot) -> Path | None:
        """The path written, or None when the write failed (and was logged)."""
        async with self._turn:
            try:
                path = await asyncio.to_thread(self.store.write, kind, snapshot)
            except (OSError, ConfigurationError) as error:
                logger.error(
                    "config snapshot (%s) not written to %s: %s", kind, self.store.directory, error
                )
                return None
        logger.debug("config snapshot written: %s", path)
        return path
