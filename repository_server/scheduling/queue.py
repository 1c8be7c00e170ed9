"""A version's bounded job queue: never blocks the caller that adds, blocks the workers that take.

It also counts unfinished jobs (queued or running), so closing can wait for them to drain, and
refuses new jobs while the version has no worker (so none waits for a worker that never comes).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from repository_server.scheduling.job import BatchSignature, Job


class JobQueue:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._jobs: deque[Job] = deque()
        self._lock = threading.Lock()
        # Two conditions on one lock, so a job's arrival never wakes a closer instead of a worker.
        self._arrived = threading.Condition(self._lock)
        self._finished = threading.Condition(self._lock)
        self._unfinished = 0
        # False while no worker runs: `put` refuses at once, like a full queue.
        self._accepting = False
        # Workers blocked in `take`: each will take one of the queued jobs, so that many jobs
        # are not waiting for a worker and do not count against the capacity (a burst that
        # arrives before idle workers wake is not refused).
        self._idle = 0

    @property
    def pending(self) -> int:
        """Jobs waiting for a worker."""
        return len(self._jobs)

    @property
    def idle(self) -> int:
        """Workers waiting for a job."""
        return self._idle

    @property
    def unfinished(self) -> int:
        """Jobs queued or running."""
        return self._unfinished

    def put(self, job: Job) -> bool:
        """Adds the job; False at once when the queue is full or takes no jobs."""
        with self._lock:
            if not self._accepting or len(self._jobs) >= self.capacity + self._idle:
                return False
            self._jobs.append(job)
            self._unfinished += 1
            self._arrived.notify()
            return True

    def take(self, stopping: Callable[[], bool]) -> Job | None:
        """The oldest job, waiting for one; None as soon as `stopping()` is true."""
        with self._lock:
            while True:
                if stopping():
                    return None
                if self._jobs:
                    return self._jobs.popleft()
                self._idle += 1
                try:
                    self._arrived.wait()
                finally:
                    self._idle -= 1

    def take_companion(self, signature: BatchSignature, room: int, deadline: float) -> Job | None:
        """The oldest job if it can join a batch (same signature, at most `room` rows), waiting
        for one until `deadline` (time.monotonic); None when it cannot or none came.

        Only the head is considered, so batching never reorders requests.
        """
        with self._lock:
            while not self._jobs:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._arrived.wait(remaining)
            head = self._jobs[0]
            if head.signature == signature and head.rows <= room:
                return self._jobs.popleft()
            # Pass the wake-up on: an idle worker should take the job this batch cannot.
            self._arrived.notify()
            return None

    def discard(self, job: Job) -> bool:
        """Removes a job its caller gave up on before a worker took it."""
        with self._lock:
            try:
                self._jobs.remove(job)
            except ValueError:
                return False
            self._finish(1)
            return True

    def done(self, count: int) -> None:
        """`count` taken jobs have finished running."""
        with self._lock:
            self._finish(count)

    def _finish(self, count: int) -> None:
        self._unfinished -= count
        if self._unfinished == 0:
            self._finished.notify_all()

    def join(self, timeout: float | None) -> bool:
        """Waits until no job is queued or running; False if some still are after `timeout`."""
        with self._lock:
            return self._finished.wait_for(lambda: self._unfinished == 0, timeout)

    def drain(self) -> list[Job]:
        """Removes and returns every queued job (closing: nobody will run them)."""
        with self._lock:
            return self._drain()

    def _drain(self) -> list[Job]:
        jobs = list(self._jobs)
        self._jobs.clear()
        if jobs:
            self._finish(len(jobs))
        return jobs

    def accept(self) -> None:
        """Takes jobs again (a worker runs)."""
        with self._lock:
            self._accepting = True

    def refuse(self) -> list[Job]:
        """Refuses new jobs from now on and returns the queued ones, in one step, so no job can
        slip in after the last worker left (the caller answers them)."""
        with self._lock:
            self._accepting = False
            return self._drain()

    def wake(self) -> None:
        """Wakes every waiting worker, so the ones told to stop notice."""
        with self._lock:
            self._arrived.notify_all()
