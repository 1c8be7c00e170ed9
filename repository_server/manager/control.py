"""The three model control modes (Triton's NONE, POLL, EXPLICIT): who may change what is loaded.

NONE loads every model at start and then changes nothing. POLL loads every model at start and
follows the repository (file events, a periodic rescan). EXPLICIT loads only `--load-model` at
start; afterwards only load and unload requests change what is loaded.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from repository_server.errors import ControlModeError, LoadFailedError
from repository_server.manager.desired import DesiredModel, desire
from repository_server.manager.manager import ModelManager
from repository_server.manager.settle import SettleTracker
from repository_server.manager.states import VersionState
from repository_server.repository.config import ModelConfig
from repository_server.repository.layout import model_folder_names, version_number
from repository_server.repository.policy import VersionPolicy
from repository_server.repository.scanner import ModelEntry, RepositoryScanner, RepositoryState
from repository_server.repository.watcher import RepositoryWatcher
from repository_server.settings import ControlMode

logger = logging.getLogger(__name__)

CONTROL_MODE_FORBIDS = "explicit model load / unload is not allowed if polling is enabled"


@dataclass(frozen=True)
class StartupReport:
    """What failed when the models asked for at start were loaded."""

    failures: dict[str, str]


class RepositoryController:
    def __init__(
        self,
        manager: ModelManager,
        scanner: RepositoryScanner,
        *,
        mode: ControlMode,
        default_policy: VersionPolicy,
        poll_secs: float = 1.0,
        settle_secs: float = 0.5,
        load_models: Iterable[str] = (),
    ) -> None:
        self.manager = manager
        self.scanner = scanner
        self.mode = mode
        self.default_policy = default_policy
        self.poll_secs = poll_secs
        self.load_models = tuple(load_models)
        self.settle = SettleTracker(settle_secs)
        self.started = False
        # Rescans done so far (tests and logs use it to know a scan has happened).
        self.scan_count = 0
        # Model name -> (its newest desired state, forget it, loaded by the start).
        self._pending: dict[str, tuple[DesiredModel | None, bool, bool]] = {}
        self._appliers: dict[str, asyncio.Task[None]] = {}
        self._rescan_wanted: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._watcher: RepositoryWatcher | None = None
        self._watcher_thread: threading.Thread | None = None
        self._recheck: asyncio.TimerHandle | None = None
        self._startup_recheck: float | None = None
        # Model name -> what to change in its config for the load at start (a restored
        # registration's batching); returns None to load the config as it is.
        self.start_adjustments: dict[str, Callable[[ModelConfig], ModelConfig | None]] = {}
        # Models the start loads because a config snapshot names them (set before start()):
        # loaded by the start path, yet not "loaded at startup" (TorchServe leaves
        # loadedAtStartup unset for snapshot-restored models).
        self.restored_models: set[str] = set()
        # The model folders seen by the last listing that worked: the index keeps showing them
        # while the repository cannot be read. And the unreadable-repository error last logged.
        self._known_names: list[str] = []
        self._unreadable: str | None = None

    # -- start and stop -----------------------------------------------------------------------

    async def start(self) -> StartupReport:
        """Loads what the mode loads at start and, in POLL mode, starts following the repository."""
        if self.mode is ControlMode.EXPLICIT:
            names = await self._startup_names()
            failures = await self._load_at_start(names)
        else:
            failures = await self._initial_scan()
        self.settle.first_scan_done()
        self.started = True
        if self.mode is ControlMode.POLL:
            self._start_following()
        return StartupReport(failures)

    async def _initial_scan(self) -> dict[str, str]:
        """Loads every model found, waiting for version folders still being written to settle:
        in NONE mode this scan is the only one."""
        while True:
            state = await asyncio.to_thread(self.scanner.scan)
            failures = await self._apply_state(state, wait=True, at_startup=True)
            delay, self._startup_recheck = self._startup_recheck, None
            if delay is None:
                return failures
            await asyncio.sleep(delay + 0.01)

    async def _startup_names(self) -> list[str]:
        if "*" in self.load_models:
            state = await asyncio.to_thread(self.scanner.scan)
            return list(state.models)
        return list(self.load_models)

    async def _load_at_start(self, names: list[str]) -> dict[str, str]:
        failures: dict[str, str] = {}

        async def load(name: str) -> None:
            try:
                await self._load(name, None, at_start=True)
            except LoadFailedError as error:
                failures[name] = error.message

        await asyncio.gather(*(load(name) for name in names))
        return failures

    async def stop(self) -> None:
        if self._watcher is not None:
            self._watcher.close()
        if self._recheck is not None:
            self._recheck.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._watcher_thread is not None:
            await asyncio.to_thread(self._watcher_thread.join, 5)
        appliers = list(self._appliers.values())
        await asyncio.gather(*appliers, return_exceptions=True)

    # -- POLL: follow the repository ----------------------------------------------------------

    def _start_following(self) -> None:
        loop = asyncio.get_running_loop()
        self._rescan_wanted = asyncio.Event()
        wanted = self._rescan_wanted
        stop = threading.Event()
        self._watcher = RepositoryWatcher(self.scanner.root, poll_secs=self.poll_secs, stop=stop)
        watcher = self._watcher

        def follow() -> None:
            for _reason in watcher:
                loop.call_soon_threadsafe(wanted.set)

        self._watcher_thread = threading.Thread(
            target=follow, name="repository-watcher", daemon=True
        )
        self._watcher_thread.start()
        self._tasks.append(asyncio.create_task(self._rescan_loop(wanted)))

    async def _rescan_loop(self, wanted: asyncio.Event) -> None:
        while True:
            await wanted.wait()
            wanted.clear()
            try:
                await self.rescan()
            except Exception:  # the watcher must survive anything one scan meets
                logger.exception("rescan of %s failed", self.scanner.root)

    async def rescan(self) -> None:
        """Scans the repository and hands every model's desired state to the manager."""
        self._note_published()
        state = await asyncio.to_thread(self.scanner.scan)
        self.scan_count += 1
        await self._apply_state(state, wait=False)

    def _note_published(self) -> None:
        """Folders the watcher saw renamed into place are complete: no settle wait for them."""
        if self._watcher is None:
            return
        for relative, seen_ns in self._watcher.take_published():
            parts = relative.split("/")
            if len(parts) == 1:
                self.settle.mark_published(parts[0], None, seen_ns)
            elif len(parts) == 2 and (number := version_number(parts[1])) is not None:
                self.settle.mark_published(parts[0], number, seen_ns)

    async def _apply_state(
        self, state: RepositoryState, *, wait: bool, at_startup: bool = False
    ) -> dict[str, str]:
        if state.problem is not None:
            # An unreadable repository (an unmounted volume) must not unload what serves; said
            # once, not on every poll.
            if state.problem != self._unreadable:
                logger.error("%s; the loaded models keep serving", state.problem)
                self._unreadable = state.problem
            return {}
        if self._unreadable is not None:
            logger.info("the model repository %s can be read again", self.scanner.root)
            self._unreadable = None
        self._known_names = sorted(state.models)
        submitted = [
            self._submit(name, self._desire(entry), at_startup=at_startup)
            for name, entry in state.models.items()
        ]
        for name in self.manager.model_names():
            if name not in state.models:
                self.settle.forget(name)
                submitted.append(self._submit(name, None, forget=True))
        self._schedule_recheck()
        if not wait:
            return {}
        await asyncio.gather(*submitted)
        return self._startup_failures(state.models)

    def _startup_failures(self, names: Iterable[str]) -> dict[str, str]:
        failures: dict[str, str] = {}
        for name in names:
            for row in self.manager.statuses(name):
                if row.state is VersionState.UNAVAILABLE and row.reason:
                    failures.setdefault(name, row.reason)
        return failures

    def _desire(self, entry: ModelEntry) -> DesiredModel:
        return desire(
            entry,
            default_policy=self.default_policy,
            is_settled=lambda version: self.settle.is_settled(entry.name, version),
        )

    def _schedule_recheck(self) -> None:
        delay = self.settle.take_recheck_delay()
        if delay is None:
            return
        if self._rescan_wanted is None:  # still starting: the initial scan waits itself
            self._startup_recheck = delay
            return
        if self._recheck is not None:
            self._recheck.cancel()
        wanted = self._rescan_wanted
        self._recheck = asyncio.get_running_loop().call_later(delay + 0.01, wanted.set)

    def _submit(
        self,
        name: str,
        desired: DesiredModel | None,
        *,
        forget: bool = False,
        at_startup: bool = False,
    ) -> asyncio.Task[None]:
        """Queues a model's desired state; one applier per model takes only the newest, so a
        burst of rescans during a long load does not queue a load per rescan."""
        self._pending[name] = (desired, forget, self._counts_as_startup(name, at_startup))
        task = self._appliers.get(name)
        if task is None or task.done():
            task = asyncio.create_task(self._apply_pending(name))
            self._appliers[name] = task
        return task

    def _counts_as_startup(self, name: str, at_start: bool) -> bool:
        """Whether a load by the start path marks the model loadedAtStartup."""
        return at_start and name not in self.restored_models

    async def _apply_pending(self, name: str) -> None:
        while name in self._pending:
            desired, forget, at_startup = self._pending.pop(name)
            try:
                await self.manager.apply(name, desired, forget=forget, at_startup=at_startup)
            except Exception:
                logger.exception("model %s: applying repository changes failed", name)

    # -- EXPLICIT: load and unload requests -----------------------------------------------------

    def require_explicit(self) -> None:
        if self.mode is not ControlMode.EXPLICIT:
            raise ControlModeError(CONTROL_MODE_FORBIDS)

    async def load(self, name: str, config_override: ModelConfig | None = None) -> None:
        """Loads (or reloads) a model from its folder as it is now on disk.

        A no-op when nothing changed, unless a config override is given (that always reloads).
        Raises LoadFailedError naming each version that failed; what served before still serves.
        """
        self.require_explicit()
        await self._load(name, config_override, at_start=False)

    async def _load(
        self, name: str, config_override: ModelConfig | None, *, at_start: bool
    ) -> None:
        entry = await asyncio.to_thread(self.scanner.scan_model, name)
        if entry is None:
            raise LoadFailedError(f"failed to load '{name}', failed to poll from model repository")
        adjust = self.start_adjustments.get(name) if at_start else None
        if adjust is not None and config_override is None and entry.config is not None:
            config_override = adjust(entry.config)
        desired = desire(
            entry,
            default_policy=self.default_policy,
            # The caller says the files are ready; a missing model file still fails the load.
            is_settled=lambda version: True,
            config_override=config_override,
        )
        failures = await self.manager.apply(
            name,
            desired,
            retry_failed=True,
            force=config_override is not None and not at_start,
            at_startup=self._counts_as_startup(name, at_start),
            keep_serving_on_failure=True,
        )
        if desired.problem is not None:
            raise LoadFailedError(f"failed to load '{name}': {desired.problem}")
        if failures:
            details = "".join(
                f"version {version} is at UNAVAILABLE state: {reason};"
                for version, reason in sorted(failures.items())
            )
            raise LoadFailedError(f"load failed for model '{name}': {details}")
        if not desired.policy.select(desired.available):
            reasons = "".join(f" {reason};" for reason in desired.incomplete.values())
            raise LoadFailedError(
                f"at least one version must be available under the version policy of model "
                f"'{name}'{reasons}"
            )

    async def unload(self, name: str) -> None:
        """Unloads every version: each stops taking requests at once and drains in the background."""
        self.require_explicit()
        await self.manager.apply(name, None)

    # -- status -------------------------------------------------------------------------------

    def repository_model_names(self) -> list[str]:
        """The model folders in the repository now (a listing, no scan of their contents).

        While the repository cannot be listed (moved away, unmounted), the models the server
        knows: the last listing that worked and every model it holds, which all serve on."""
        root = self.scanner.root
        names = model_folder_names(root)
        if names or self._can_list(root):
            self._known_names = names
            return names
        return sorted({*self._known_names, *self.manager.model_names()})

    @staticmethod
    def _can_list(root: Path) -> bool:
        try:
            with os.scandir(root):
                return True
        except OSError:
            return False

    def index(self, ready_only: bool = False) -> list[dict[str, str]]:
        """Triton's repository index: one entry per model folder and version."""
        entries: list[dict[str, str]] = []
        for name in self.repository_model_names():
            rows = self.manager.statuses(name)
            if not rows:
                if not ready_only:
                    entries.append({"name": name})
                continue
            entries += [
                row.to_json() for row in rows if not ready_only or row.state is VersionState.READY
            ]
        return entries

    @property
    def ready(self) -> bool:
        """Strict readiness: started, and no model it was asked to load is still loading."""
        return self.started and not self.manager.loading
