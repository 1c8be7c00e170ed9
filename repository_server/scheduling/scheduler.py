"""The per-version request scheduler: a bounded queue, N worker threads, optional dynamic
batching, per-request timeouts and Triton statistics."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping

import numpy as np

from backends.base import LoadedModel
from repository_server.errors import (
    QueueFullError,
    RequestTimeoutError,
    VersionNotReadyError,
    WorkerStartError,
)
from repository_server.repository.config import DynamicBatching, ModelConfig
from repository_server.scheduling.batching import BatchPolicy
from repository_server.scheduling.execution import deliver
from repository_server.scheduling.job import BatchSignature, Job, batch_signature, settle
from repository_server.scheduling.limits import check_worker_count
from repository_server.scheduling.queue import JobQueue
from repository_server.scheduling.statistics import VersionStatistics
from repository_server.scheduling.worker import Worker, WorkerInfo, WorkerStatus


class Scheduler:
    """Runs one served version's requests on its worker threads, never blocking the event loop.

    `infer` queues a job and awaits a future that a worker completes through
    `loop.call_soon_threadsafe`; a full queue is refused at once.
    """

    def __init__(
        self,
        loaded: LoadedModel,
        model: str,
        version: int,
        *,
        workers: int,
        queue_size: int,
        max_batch_size: int,
        batching: DynamicBatching | None,
        statistics: VersionStatistics,
    ) -> None:
        if queue_size < 1:
            raise ValueError(
                f"model '{model}': job_queue_size must be at least 1, not {queue_size}"
            )
        self.loaded = loaded
        self.model = model
        self.version = version
        self.statistics = statistics
        self._max_batch_size = max_batch_size
        self._policy = BatchPolicy.create(max_batch_size, batching)
        self._queue = JobQueue(queue_size)
        self._lock = threading.Lock()
        self._active: list[Worker] = []
        self._retiring: list[Worker] = []
        self._started = 0
        self._closed = False
        self.scale(workers)

    @classmethod
    def for_config(
        cls,
        loaded: LoadedModel,
        config: ModelConfig,
        version: int,
        *,
        workers: int,
        default_queue_size: int,
        statistics: VersionStatistics | None = None,
    ) -> Scheduler:
        """A scheduler as the model's config asks (`job_queue_size` in its `parameters`)."""
        return cls(
            loaded,
            config.name,
            version,
            workers=workers,
            queue_size=config.integer_parameter("job_queue_size", default_queue_size),
            max_batch_size=config.max_batch_size,
            batching=config.dynamic_batching,
            statistics=statistics or VersionStatistics(),
        )

    @property
    def queue_size(self) -> int:
        return self._queue.capacity

    @property
    def workers(self) -> int:
        """Workers taking jobs (those asked to stop are not counted)."""
        return len(self._active)

    @property
    def pending(self) -> int:
        """Jobs waiting for a worker."""
        return self._queue.pending

    @property
    def idle_workers(self) -> int:
        """Workers waiting for a job (a burst up to their number plus the queue is taken)."""
        return self._queue.idle

    @property
    def remaining_capacity(self) -> int:
        return max(self._queue.capacity - self._queue.pending, 0)

    async def infer(
        self, inputs: Mapping[str, np.ndarray], timeout: float | None
    ) -> dict[str, np.ndarray]:
        """The model's outputs for `inputs`, run by a worker, alone or in a dynamic batch.

        Raises QueueFullError at once when no room or no worker is left, RequestTimeoutError
        after `timeout` seconds (None or 0: no limit), VersionNotReadyError once closing began.
        """
        if self._closed:
            raise VersionNotReadyError(self.model, self.version, "UNLOADING")
        loop = asyncio.get_running_loop()
        rows, signature = self._batch_shape(inputs)
        job = Job(inputs, loop, rows=rows, signature=signature)
        # The queue refuses when full, and while no worker runs.
        if not self._queue.put(job):
            self.statistics.record_failure(0)
            raise QueueFullError(self.model, self.version, self._queue.capacity)
        timer = loop.call_later(timeout, self._expire, job, timeout) if timeout else None
        try:
            return await job.future
        except asyncio.CancelledError:
            # The caller went away: a job not yet taken is dropped, not run for nobody.
            if self._queue.discard(job):
                self.statistics.record_failure(time.perf_counter_ns() - job.enqueued_ns)
            raise
        finally:
            if timer is not None:
                timer.cancel()

    def _batch_shape(self, inputs: Mapping[str, np.ndarray]) -> tuple[int, BatchSignature | None]:
        """The job's rows (for the statistics) and, when batching, its batch signature."""
        if self._policy is not None:
            return batch_signature(inputs)
        if self._max_batch_size > 0 and inputs:
            shape = next(iter(inputs.values())).shape
            return (shape[0] if shape else 0), None
        return 0, None

    def _expire(self, job: Job, timeout: float) -> None:
        # A queued job is removed so no worker runs it; a running one finishes unobserved.
        self._queue.discard(job)
        error = RequestTimeoutError(
            f"Request to model '{self.model}' version {self.version} timed out after "
            f"{_duration(timeout)}"
        )
        if settle(job, error):
            self.statistics.record_failure(time.perf_counter_ns() - job.enqueued_ns)

    def scale(self, workers: int) -> None:
        """Starts or stops workers to reach `workers`; stopping ones finish their current job.

        Raises InvalidRequestError over the maximum count per version, and WorkerStartError when
        a thread cannot be started: the workers this call started are stopped again, so the
        version keeps the workers it had. When the last worker goes, queued jobs are answered
        QueueFullError at once, as new ones are.
        """
        if workers < 0:
            raise ValueError(f"model '{self.model}': worker count must be 0 or more, not {workers}")
        check_worker_count(workers, f"model '{self.model}' version {self.version}: worker count")
        if self._closed:
            raise VersionNotReadyError(self.model, self.version, "UNLOADING")
        with self._lock:
            self._start_workers(workers)
            surplus = len(self._active) - workers
            if surplus > 0:
                # Idle before busy, newest before oldest.
                ranked = sorted(
                    enumerate(self._active),
                    key=lambda pair: (pair[1].status is not WorkerStatus.READY, -pair[0]),
                )
                self._retire([worker for _, worker in ranked[:surplus]])
            stranded = self._queue.refuse() if not self._active else []
        self._queue.wake()
        if stranded:
            refusal = QueueFullError(self.model, self.version, self._queue.capacity)
            now = time.perf_counter_ns()
            deliver([(job, refusal, now - job.enqueued_ns) for job in stranded], self.statistics)

    def _start_workers(self, workers: int) -> None:
        """Starts workers until `workers` run; on failure stops the ones it started and raises."""
        started: list[Worker] = []
        try:
            while len(self._active) < workers:
                started.append(self._start_worker())
        except (RuntimeError, MemoryError) as error:
            failed = len(self._active) + 1
            self._retire(started)
            self._queue.wake()
            kept = len(self._active)
            raise WorkerStartError(
                f"Failed to start workers for model {self.model} version: {self.version}: "
                f"worker {failed} of {workers} could not start a thread ({error}); "
                f"the version keeps its {kept} worker{'s' if kept != 1 else ''}"
            ) from error
        if self._active:
            self._queue.accept()

    def _start_worker(self) -> Worker:
        self._started += 1
        worker = Worker(
            str(9000 + self._started - 1),
            thread_name=f"{self.model}-v{self.version}-worker-{self._started}",
            model=self.loaded,
            queue=self._queue,
            policy=self._policy,
            statistics=self.statistics,
            on_exit=self._worker_exited,
        )
        # Counted only once its thread runs: a worker that never started cannot be joined.
        worker.start()
        self._active.append(worker)
        return worker

    def _retire(self, workers: list[Worker]) -> None:
        for worker in workers:
            worker.stop()
            self._active.remove(worker)
            self._retiring.append(worker)

    def _worker_exited(self, worker: Worker) -> None:
        with self._lock:
            if worker in self._retiring:
                self._retiring.remove(worker)
            elif worker in self._active:  # ended without being asked (should not happen)
                self._active.remove(worker)

    async def wait_scaled(self, timeout: float | None) -> bool:
        """Waits until the workers asked to stop have exited; False if some still run after
        `timeout`. Started workers take jobs at once, so growing needs no wait."""
        with self._lock:
            retiring = list(self._retiring)
        return await asyncio.to_thread(_join_all, retiring, timeout)

    def worker_info(self) -> list[WorkerInfo]:
        with self._lock:
            return [worker.info() for worker in (*self._active, *self._retiring)]

    async def close(self, timeout: float | None) -> bool:
        """Stops taking requests at once, lets queued and running ones finish within `timeout`
        seconds (None: no limit), then stops the workers.

        Jobs still queued at the deadline fail with VersionNotReadyError. True when no worker
        runs any more, so the model may be freed; False when one is still inside the model.
        """
        self._closed = True
        deadline = None if timeout is None else time.monotonic() + timeout
        if self._active:
            await asyncio.to_thread(self._queue.join, timeout)
        with self._lock:
            self._retire(list(self._active))
            workers = list(self._retiring)
        self._queue.wake()
        leftovers = self._queue.drain()
        if leftovers:
            error = VersionNotReadyError(self.model, self.version, "UNLOADING")
            deliver(
                [(job, error, time.perf_counter_ns() - job.enqueued_ns) for job in leftovers],
                self.statistics,
            )
        remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
        return await asyncio.to_thread(_join_all, workers, remaining)


def _join_all(workers: list[Worker], timeout: float | None) -> bool:
    deadline = None if timeout is None else time.monotonic() + timeout
    for worker in workers:
        remaining = None if deadline is None else max(deadline - time.monotonic(), 0.0)
        if not worker.join(remaining):
            return False
    return True


def _duration(seconds: float) -> str:
    """`120 s`, `0.5 s`, `1 ms`, `0.001 ms`: readable at every scale the limits take."""
    if seconds >= 0.1:
        return f"{seconds:g} s"
    return f"{seconds * 1000:.6g} ms"
