"""A worker: one thread that takes jobs from a version's queue and runs them (TorchServe's
"worker", one of Triton's `instance_group.count` instances)."""

from __future__ import annotations

import enum
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from backends.base import LoadedModel
from repository_server.scheduling.batching import BatchPolicy
from repository_server.scheduling.execution import execute
from repository_server.scheduling.queue import JobQueue
from repository_server.scheduling.statistics import VersionStatistics


class WorkerStatus(str, enum.Enum):
    READY = "READY"  # waiting for a job
    BUSY = "BUSY"  # gathering a batch or running the model
    STOPPING = "STOPPING"  # told to stop; finishes what it runs, then exits
    STOPPED = "STOPPED"


@dataclass(frozen=True)
class WorkerInfo:
    id: str
    started_at: float  # seconds since the epoch
    status: WorkerStatus

    def to_json(self, device: str = "cpu") -> dict[str, Any]:
        """The worker as TorchServe's describe-model answer lists it."""
        started = datetime.fromtimestamp(self.started_at, tz=timezone.utc)
        on_gpu = device.lower().startswith(("cuda", "gpu"))
        return {
            "id": self.id,
            "startTime": started.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            # TorchServe says READY for a running worker whether or not it is busy.
            "status": "UNLOADING" if self.status is WorkerStatus.STOPPING else "READY",
            "memoryUsage": 0,
            "pid": os.getpid(),
            "gpu": on_gpu,
            "gpuUsage": "N/A",
        }


class Worker:
    def __init__(
        self,
        worker_id: str,
        *,
        thread_name: str,
        model: LoadedModel,
        queue: JobQueue,
        policy: BatchPolicy | None,
        statistics: VersionStatistics,
        on_exit: Callable[[Worker], None],
    ) -> None:
        self.id = worker_id
        self.started_at = time.time()
        self.status = WorkerStatus.READY
        self._model = model
        self._queue = queue
        self._policy = policy
        self._statistics = statistics
        self._on_exit = on_exit
        self._stop = False
        # Daemon: a model stuck in a call must not keep the process from exiting.
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Asks the worker to exit after its current job; the caller wakes the queue."""
        self._stop = True
        if self.status is not WorkerStatus.STOPPED:
            self.status = WorkerStatus.STOPPING

    def join(self, timeout: float | None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def info(self) -> WorkerInfo:
        return WorkerInfo(self.id, self.started_at, self.status)

    def _stopping(self) -> bool:
        return self._stop

    def _run(self) -> None:
        try:
            while (first := self._queue.take(self._stopping)) is not None:
                self.status = WorkerStatus.BUSY
                jobs = [first]
                try:
                    if self._policy is not None:
                        jobs = self._policy.gather(first, self._queue)
                    execute(self._model, jobs, self._statistics)
                finally:
                    self._queue.done(len(jobs))
                    if not self._stop:
                        self.status = WorkerStatus.READY
        finally:
            self.status = WorkerStatus.STOPPED
            self._on_exit(self)
