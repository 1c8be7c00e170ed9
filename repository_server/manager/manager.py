"""The ModelManager: the one place that changes what is loaded.

Given a model's desired state it loads, swaps and unloads versions, availability first: a new or
changed version loads beside the one serving and takes over only once READY; a failed load never
removes a version that was serving, and a version the policy no longer selects serves on until
one it selects is READY; a removed version stops taking requests at once, finishes the ones in
flight, then frees its memory.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Protocol

from repository_server.errors import (
    ModelNotFoundError,
    NoVersionAvailableError,
    VersionNotFoundError,
    VersionNotReadyError,
)
from repository_server.manager.desired import VERSION_FOLDER_NOT_FOUND, DesiredModel
from repository_server.manager.records import LoadFailure, ModelRecord, VersionSlot
from repository_server.manager.served import ServedVersion
from repository_server.manager.states import (
    UNLOADED,
    VersionState,
    VersionStatus,
    log_new_copy,
    log_serving_on,
    log_transition,
)

logger = logging.getLogger(__name__)


class VersionLoadError(Exception):
    """A version failed to load; the message is the reason shown in status."""


class VersionLoader(Protocol):
    async def load(self, desired: DesiredModel, version: int, workers: int) -> ServedVersion: ...


class ModelManager:
    def __init__(
        self,
        loader: VersionLoader,
        *,
        default_workers: int = 1,
        drain_timeout: float | None = None,
    ) -> None:
        self._loader = loader
        self._records: dict[str, ModelRecord] = {}
        self._draining: set[asyncio.Task[None]] = set()
        self.default_workers = default_workers
        self.drain_timeout = drain_timeout
        # Worker counts set through the management API, by (model, version), and the max_worker
        # each scale request asked for (recorded and reported; the count does not autoscale).
        self.worker_overrides: dict[tuple[str, int], int] = {}
        self.max_workers: dict[tuple[str, int], int] = {}
        # Worker counts for every version of a model (TorchServe's register `initial_workers`).
        self.model_workers: dict[str, int] = {}

    # -- lookups: the hot path reads only dictionaries refreshed on every change ------------

    def get(self, name: str, version: int | None = None) -> ServedVersion:
        """The READY version to run a request on (the default one when `version` is None)."""
        record = self._records.get(name)
        if record is None:
            raise ModelNotFoundError(name)
        if version is None:
            if record.default_version is None:
                raise NoVersionAvailableError(name)
            return record.ready[record.default_version]
        served = record.ready.get(version)
        if served is not None:
            return served
        known = {row.version: row for row in record.statuses() if row.version is not None}
        if version in known:
            row = known[version]
            raise VersionNotReadyError(name, version, row.state.value, row.reason)
        raise VersionNotFoundError(name, version)

    def record(self, name: str) -> ModelRecord | None:
        return self._records.get(name)

    def model_names(self) -> list[str]:
        return sorted(self._records)

    def statuses(self, name: str | None = None) -> list[VersionStatus]:
        names = [name] if name is not None else sorted(self._records)
        return [row for n in names if n in self._records for row in self._records[n].statuses()]

    def ready_versions(self) -> Iterable[ServedVersion]:
        for name in sorted(self._records):
            yield from self._records[name].ready.values()

    @property
    def loading(self) -> bool:
        """Whether any version is loading for the first time."""
        return any(record.loading for record in self._records.values())

    def failure_ages(self) -> dict[str, float]:
        """Models that serve nothing because a version failed to load, with the seconds since the
        oldest such failure (TorchServe's /ping turns Unhealthy after maxRetryTimeoutInSec)."""
        now = time.monotonic()
        ages: dict[str, float] = {}
        for record in self._records.values():
            if record.ready:
                continue
            failed = [s.failure.since for s in record.slots.values() if s.failure is not None]
            if failed:
                ages[record.name] = now - min(failed)
        return ages

    # -- changes ------------------------------------------------------------------------------

    async def apply(
        self,
        name: str,
        desired: DesiredModel | None,
        *,
        retry_failed: bool = False,
        force: bool = False,
        forget: bool = False,
        at_startup: bool = False,
        keep_serving_on_failure: bool = False,
    ) -> dict[int, str]:
        """Makes what is served of `name` follow `desired` (None: serve nothing).

        Returns the versions that failed to load now, with their reasons. `retry_failed` tries
        versions that failed before with the same files again; `force` reloads versions even
        when nothing changed; `forget` drops the model once drained (its folder is gone);
        `at_startup` marks a model this call creates as loaded by the server's start;
        `keep_serving_on_failure` unloads nothing when a version fails (an explicit load that
        answers an error changes nothing that served).
        Calls for one model are serialised: two loads of a model never run at once.
        """
        record = self._records.get(name)
        if record is None:
            if desired is None:
                return {}
            record = self._records[name] = ModelRecord(name, loaded_at_startup=at_startup)
        async with record.lock:
            if desired is None:
                self._retire_all(
                    record, forget=forget, why="model folder removed" if forget else ""
                )
                return {}
            record.desired = desired
            record.forgotten = False
            if desired.problem is not None:
                if record.problem != desired.problem:
                    logger.warning("model %s: %s", name, desired.problem)
                if not desired.keeps_serving:
                    self._retire_all(record, forget=False, why=desired.problem)
                    record.desired = desired
                record.problem = desired.problem
                return {}
            record.problem = None
            if retry_failed:
                for slot in record.slots.values():
                    slot.failure = None
            self._scale_to_config(record, desired)
            failures = await self._load_selected(
                record, desired, force=force, keep_serving_on_failure=keep_serving_on_failure
            )
            record.refresh_ready()
            return failures

    async def _load_selected(
        self,
        record: ModelRecord,
        desired: DesiredModel,
        *,
        force: bool,
        keep_serving_on_failure: bool,
    ) -> dict[int, str]:
        failures: dict[int, str] = {}
        # A serving version whose files are being rewritten keeps serving until they settle.
        present = {*desired.available, *(v for v in desired.settling if self._serving(record, v))}
        while True:
            selected = desired.policy.select(
                v
                for v in present
                if not self._failed(record, desired, v) or self._serving(record, v)
            )
            to_load = [
                v
                for v in sorted(selected)
                if v in desired.available
                and not self._failed(record, desired, v)
                and (force or not self._serving_key_matches(record, desired, v))
            ]
            force = False
            if not to_load:
                break
            results = await asyncio.gather(*(self._load(record, desired, v) for v in to_load))
            new_failures = {
                v: reason for v, reason in zip(to_load, results, strict=True) if reason is not None
            }
            failures.update(new_failures)
            if not new_failures:
                break
            # Like OVMS and TF Serving: a failed version leaves the candidates and the policy
            # chooses again, so with latest 1 the previous version keeps serving.
        held_because = None
        if keep_serving_on_failure and (failures or not selected):
            held_because = f"because the load failed ({self._why_nothing_loads(record, desired)})"
        self._retire_unselected(record, desired, selected, held_because)
        return failures

    @staticmethod
    def _serving(record: ModelRecord, version: int) -> bool:
        slot = record.slots.get(version)
        return slot is not None and slot.serving is not None

    @staticmethod
    def _failed(record: ModelRecord, desired: DesiredModel, version: int) -> bool:
        slot = record.slots.get(version)
        return (
            version in desired.available
            and slot is not None
            and slot.failure is not None
            and slot.failure.key == desired.key(version)
        )

    @staticmethod
    def _serving_key_matches(record: ModelRecord, desired: DesiredModel, version: int) -> bool:
        slot = record.slots.get(version)
        return (
            slot is not None
            and slot.serving is not None
            and slot.serving.key == desired.key(version)
        )

    def workers_for(self, record: ModelRecord, version: int) -> int:
        override = self.worker_overrides.get((record.name, version))
        if override is None:
            override = self.model_workers.get(record.name)
        if override is not None:
            return override
        config = record.config
        if config is not None and config.instance_group is not None:
            return config.instance_group.count
        return self.default_workers

    def _scale_to_config(self, record: ModelRecord, desired: DesiredModel) -> None:
        # instance_group changes apply in place: kept versions are not reloaded.
        for number, slot in record.slots.items():
            served = slot.serving
            if served is not None and (record.name, number) not in self.worker_overrides:
                # A model-level count (register's initial_workers) also wins over the config.
                served.scheduler.scale(self.workers_for(record, number))

    async def _load(self, record: ModelRecord, desired: DesiredModel, version: int) -> str | None:
        slot = record.slot(version)
        # A reload loads a new copy beside the serving one; the version stays READY meanwhile.
        copy = "new copy" if slot.serving is not None else ""
        if copy:
            log_new_copy(record.name, version)
        else:
            log_transition(
                record.name, version, slot.status(record.name).state, VersionState.LOADING
            )
        slot.loading = True
        slot.unloaded = False
        started = time.monotonic()
        try:
            served = await self._loader.load(desired, version, self.workers_for(record, version))
        except VersionLoadError as error:
            slot.failure = LoadFailure(desired.key(version), str(error))
            log_transition(
                record.name,
                version,
                VersionState.LOADING,
                VersionState.UNAVAILABLE,
                str(error),
                copy=copy,
                note="the serving copy stays READY" if copy else "",
            )
            return str(error)
        finally:
            slot.loading = False
        previous = slot.serving
        slot.serving = served
        slot.failure = None
        record.refresh_ready()
        log_transition(
            record.name,
            version,
            VersionState.LOADING,
            VersionState.READY,
            seconds=time.monotonic() - started,
            copy=copy,
        )
        if previous is not None:
            self._retire(record, slot, previous, "replaced by the new copy", copy="old copy")
        return None

    def _retire_unselected(
        self,
        record: ModelRecord,
        desired: DesiredModel,
        selected: frozenset[int],
        held_because: str | None,
    ) -> None:
        """Retires the serving versions the policy no longer selects, once a version it selects
        is READY: until then they serve on, so a load that fails, or a version still being
        copied in, never leaves a model that served something serving nothing."""
        # A replacement still being copied in is expected; anything else the user should see.
        expected = False
        if held_because is None and not any(self._serving(record, v) for v in selected):
            expected = bool(desired.settling)
            held_because = (
                f"until version {max(desired.settling)} is READY"
                if desired.settling
                else f"because no selected version is READY "
                f"({self._why_nothing_loads(record, desired)})"
            )
        for number, slot in list(record.slots.items()):
            if slot.serving is not None and number in selected:
                slot.held = None
            elif slot.serving is not None and held_because is not None:
                held = f"{self._why_unselected(desired, number)}; it serves on {held_because}"
                if slot.held != held:
                    slot.held = held
                    log_serving_on(record.name, number, held, expected=expected)
            elif slot.serving is not None:
                self._retire(record, slot, slot.serving, self._why_unselected(desired, number))
            elif (
                slot.failure is not None
                and slot.serving is None
                and number not in desired.available
            ):
                del record.slots[number]  # a failed version whose folder is gone
        record.refresh_ready()

    @staticmethod
    def _why_unselected(desired: DesiredModel, version: int) -> str:
        if version not in desired.folders:
            return "version folder removed"
        if version in desired.available or version in desired.settling:
            return "no longer selected by the version policy"
        return "version folder incomplete"

    @staticmethod
    def _why_nothing_loads(record: ModelRecord, desired: DesiredModel) -> str:
        """Why the versions the policy selects do not serve, for the log."""
        reasons = [f"version {v}: {VERSION_FOLDER_NOT_FOUND}" for v in sorted(desired.missing)]
        reasons += [desired.incomplete[v] for v in sorted(desired.incomplete)]
        aspired = desired.policy.select(desired.available)
        reasons += [
            f"version {number} failed to load"
            for number, slot in sorted(record.slots.items())
            if slot.failure is not None and slot.serving is None and number in aspired
        ]
        return "; ".join(reasons) or "the policy selects none of its version folders"

    def _retire_all(self, record: ModelRecord, *, forget: bool, why: str = "") -> None:
        record.desired = None
        record.problem = None
        # Whatever loads the model again later is not the server's start.
        record.loaded_at_startup = False
        for slot in list(record.slots.values()):
            if slot.serving is not None:
                self._retire(record, slot, slot.serving, why)
            elif slot.failure is not None:
                slot.failure = None
                slot.unloaded = True
        record.refresh_ready()
        if forget:
            record.forgotten = True
            self._forget_if_drained(record)

    def _retire(
        self,
        record: ModelRecord,
        slot: VersionSlot,
        served: ServedVersion,
        why: str,
        *,
        copy: str = "",
    ) -> None:
        """Stops new requests at once (before any await); drains and frees in the background.

        Retiring the slot's serving copy (not an old copy a reload replaced) unloads the
        version: a failure of a newer copy is no longer its reason, it is 'unloaded'."""
        served.state = VersionState.UNLOADING
        if slot.serving is served:
            slot.serving = None
            slot.unloaded = True
            slot.failure = None
            slot.held = None
        slot.retiring.append(served)
        record.refresh_ready()
        log_transition(
            record.name, served.version, VersionState.READY, VersionState.UNLOADING, why, copy=copy
        )
        task = asyncio.create_task(self._drain(record, slot, served, copy))
        self._draining.add(task)
        task.add_done_callback(self._draining.discard)

    async def _drain(
        self, record: ModelRecord, slot: VersionSlot, served: ServedVersion, copy: str
    ) -> None:
        try:
            await served.retire(self.drain_timeout)
        except Exception:  # a runtime failing to free must not stop the manager
            logger.exception(
                "model %s version %s: error while unloading", record.name, served.version
            )
        finally:
            slot.retiring.remove(served)
        if copy or (slot.serving is None and not slot.loading):
            state, reason = (
                (VersionState.UNAVAILABLE, UNLOADED) if copy else self._after_unload(slot)
            )
            log_transition(
                record.name, served.version, VersionState.UNLOADING, state, reason, copy=copy
            )
        self._forget_if_drained(record)

    @staticmethod
    def _after_unload(slot: VersionSlot) -> tuple[VersionState, str]:
        status = slot.status("")
        return status.state, status.reason

    def _forget_if_drained(self, record: ModelRecord) -> None:
        if (
            record.forgotten
            and record.desired is None
            and all(s.empty for s in record.slots.values())
            and self._records.get(record.name) is record
        ):
            del self._records[record.name]

    # -- management -------------------------------------------------------------------------

    def set_default(self, name: str, version: int) -> None:
        """Pins the default version (TorchServe's set-default); it must be READY."""
        record = self._records.get(name)
        if record is None:
            raise ModelNotFoundError(name)
        if version not in record.ready:
            if version in record.slots:
                status = record.slots[version].status(name)
                raise VersionNotReadyError(name, version, status.state.value, status.reason)
            raise VersionNotFoundError(name, version)
        record.pinned_default = version
        record.refresh_ready()
        logger.info("model %s: default version pinned to %s", name, version)

    async def unload_version(self, name: str, version: int) -> None:
        """Retires one READY version (TorchServe's unregister of a version): it stops taking
        requests at once and drains in the background; the others keep serving. The next apply
        of the model's desired state may load it again."""
        record = self._records.get(name)
        if record is None:
            raise ModelNotFoundError(name)
        async with record.lock:
            self.get(name, version)  # raises for unknown and not-READY versions
            slot = record.slots[version]
            assert slot.serving is not None
            if record.pinned_default == version:
                record.pinned_default = None
            self._retire(record, slot, slot.serving, "unregistered")
            self.worker_overrides.pop((name, version), None)
            self.max_workers.pop((name, version), None)

    def scale(self, name: str, version: int, workers: int, max_workers: int | None = None) -> None:
        """Sets a READY version's worker count, live, and remembers it across reloads."""
        served = self.get(name, version)
        # First, so a count the scheduler refuses (or cannot start) is not remembered.
        served.scheduler.scale(workers)
        self.worker_overrides[(name, version)] = workers
        self.max_workers[(name, version)] = max(workers, max_workers or workers)
        logger.info("model %s version %s: scaled to %d workers", name, version, workers)

    async def shutdown(self) -> None:
        """Retires every version and waits until each has drained and been freed."""
        for record in list(self._records.values()):
            async with record.lock:
                self._retire_all(record, forget=False, why="the server is stopping")
        while self._draining:
            await asyncio.gather(*list(self._draining), return_exceptions=True)

    def report_unavailable(self, name: str, reason: str) -> None:
        """Shows a model that serves nothing as UNAVAILABLE with `reason` (one a config snapshot
        names but the repository no longer holds). The next apply of the model replaces it."""
        record = self._records.get(name)
        if record is None:
            record = self._records[name] = ModelRecord(name)
        if not record.ready:
            record.problem = reason
