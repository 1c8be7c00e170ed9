"""The running server's config snapshots: restored after start, written as runtime config changes.

The server calls `restore_and_start()` once its models are loaded (the plan is applied, then
`startup` is written), and `stop()` on a deliberate stop (`shutdown` is written while the models
still serve). In between, every change notification (`ModelServer.notify_changed`) asks for a
`snapshot`. Notifications that arrive while one is being written coalesce into a single next
write, taken when it starts, so a burst of changes costs one or two files and the newest file
always holds the newest state. Snapshots are taken on the event loop and written off it, in order.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from repository_server.management.registrations import RegistrationBook
from repository_server.model_server import ModelServer
from repository_server.settings import ControlMode
from repository_server.snapshots.apply import apply_restore, restore_registrations
from repository_server.snapshots.capture import capture
from repository_server.snapshots.overrides import restored_overrides
from repository_server.snapshots.restore import RestorePlan
from repository_server.snapshots.snapshot import ConfigSnapshot, ModelSnapshotEntry
from repository_server.snapshots.store import SnapshotStore
from repository_server.snapshots.writer import SnapshotWriter

logger = logging.getLogger(__name__)


class SnapshotKeeper:
    def __init__(
        self,
        server: ModelServer,
        store: SnapshotStore | None,
        plan: RestorePlan | None = None,
        registrations: RegistrationBook | None = None,
    ) -> None:
        """`store`: None writes no snapshots (`--no-config-snapshots`). `registrations`: the
        management API's book, recorded in snapshots and refilled from the plan."""
        self.server = server
        self.plan = plan
        self.registrations = registrations
        self._writer = SnapshotWriter(store) if store is not None else None
        self._loop: asyncio.AbstractEventLoop | None = None
        # Between a successful start and the stop, changes are written.
        self._following = False
        self._change_pending = False
        self._writing: asyncio.Task[None] | None = None
        # Restored models that serve nothing yet -> their snapshot entries, written on.
        self._carried: dict[str, dict[int, ModelSnapshotEntry]] = {}
        server.change_listeners.append(self._changed)
        explicit = server.settings.model_control_mode is ControlMode.EXPLICIT
        # Registrations happen in EXPLICIT mode only, where the snapshot says what loads; the
        # other modes load the repository's models and configs at start whatever it says.
        if plan is not None and plan.restores_models and explicit:
            # TorchServe: loadedAtStartup is not set for models a snapshot brings back.
            server.controller.restored_models.update(plan.models)
            server.controller.start_adjustments.update(
                restored_overrides(plan, server.settings.response_timeout)
            )

    @classmethod
    def for_server(
        cls,
        server: ModelServer,
        plan: RestorePlan | None = None,
        registrations: RegistrationBook | None = None,
    ) -> SnapshotKeeper:
        """A keeper writing to the server's snapshot folder, or to none with
        `--no-config-snapshots`."""
        settings = server.settings
        store = (
            None
            if settings.no_config_snapshots
            else SnapshotStore(settings.snapshot_dir, settings.snapshot_keep)
        )
        return cls(server, store, plan, registrations)

    async def restore_and_start(self) -> Path | None:
        """Applies the restore plan to the started server, writes `startup` and from then on
        follows changes. Returns the file written (None: none)."""
        self._loop = asyncio.get_running_loop()
        if self.plan is not None:
            if self.registrations is not None:
                restore_registrations(self.server, self.plan, self.registrations)
            await apply_restore(self.server, self.plan)
            self._carry_unserved(self.plan)
        self._following = True
        return await self._write("startup")

    async def stop(self, *, deliberate: bool) -> Path | None:
        """Stops following changes and finishes the writes under way; a deliberate stop
        (SIGTERM, SIGINT) then writes `shutdown`. Call it before the models are unloaded."""
        following, self._following = self._following, False
        if self._writing is not None:
            await self._writing
        if not deliberate or not following:
            return None
        return await self._write("shutdown")

    def _changed(self, what: str) -> None:
        # `unregister m` / `unload m`: the user removed the model, so it is carried no more.
        words = what.split()
        if len(words) == 2 and words[0] in ("unregister", "unload"):
            self._carried.pop(words[1], None)
        if not self._following or self._writer is None:
            return
        loop = self._loop
        assert loop is not None
        try:
            on_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            self._want_snapshot(what)
        else:  # a change made from a thread: the snapshot is still taken on the loop
            loop.call_soon_threadsafe(self._want_snapshot, what)

    def _want_snapshot(self, what: str) -> None:
        if not self._following:
            return
        logger.debug("runtime config changed (%s): a config snapshot follows", what)
        self._change_pending = True
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write_changes())

    async def _write_changes(self) -> None:
        while self._change_pending:
            self._change_pending = False
            await self._write("snapshot")

    def _snapshot(self) -> ConfigSnapshot:
        """What serves now, plus the restored models that do not serve yet (carried)."""
        snapshot = capture(self.server, self.registrations)
        for name in [name for name in self._carried if name in snapshot.models]:
            del self._carried[name]  # it serves again: its own entries from now on
        if not self._carried:
            return snapshot
        return ConfigSnapshot(snapshot.settings, {**self._carried, **snapshot.models})

    def _carry_unserved(self, plan: RestorePlan) -> None:
        """Restored models that do not serve now (their folder is missing, their load failed)
        stay in the snapshots until they serve again or are unregistered, so one start with a
        volume not yet mounted does not wipe them from the next restore."""
        for name, model in sorted(plan.models.items()):
            record = self.server.manager.record(name)
            if record is not None and record.ready:
                continue
            self._carried[name] = dict(model.versions)
            logger.warning(
                "model %s serves nothing now: its snapshot entries are kept until it serves "
                "again or is unregistered",
                name,
            )

    async def _write(self, kind: str) -> Path | None:
        if self._writer is None:
            return None
        path = await self._writer.write(kind, self._snapshot())
        if path is not None:
            logger.info("config snapshot written: %s", path)
        return path
