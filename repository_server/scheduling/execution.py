"""Running taken jobs on the model (in a worker thread) and handing the outcomes to their callers'
event loops."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence

import numpy as np

import backends.base
from backends.base import LoadedModel
from repository_server.errors import InferenceFailedError, InvalidRequestError, ServerError
from repository_server.scheduling.batching import concatenate, split
from repository_server.scheduling.job import Job, JobTiming, settle
from repository_server.scheduling.statistics import VersionStatistics

Tensors = dict[str, np.ndarray]
# A job with its outcome: outputs and where the time went, or the error and how long it took.
Result = tuple[Job, Tensors, JobTiming] | tuple[Job, ServerError, int]

# Errors a backend raises for inputs it cannot take: the client's fault, answered 400.
_INPUT_ERRORS: tuple[type[Exception], ...] = (ValueError,)
# backends.base may define an error type for rejected inputs; it is honoured when present.
_backend_input_error = getattr(backends.base, "InferenceInputError", None)
if isinstance(_backend_input_error, type) and issubclass(_backend_input_error, Exception):
    _INPUT_ERRORS = (*_INPUT_ERRORS, _backend_input_error)


def to_server_error(error: BaseException) -> ServerError:
    """A backend's exception as the error the client sees, keeping the runtime's words."""
    if isinstance(error, ServerError):
        return error
    message = str(error) or type(error).__name__
    if isinstance(error, _INPUT_ERRORS):
        return InvalidRequestError(message)
    return InferenceFailedError(message)


def execute(model: LoadedModel, jobs: Sequence[Job], statistics: VersionStatistics) -> None:
    """Runs the jobs as one model call (joined when more than one) and delivers each its part.

    Never raises: whatever goes wrong becomes every job's error.
    """
    started = time.perf_counter_ns()
    try:
        inputs = jobs[0].inputs if len(jobs) == 1 else concatenate(jobs)
        prepared = time.perf_counter_ns()
        outputs = model.infer(inputs)
        ran = time.perf_counter_ns()
        parts = [outputs] if len(jobs) == 1 else split(outputs, jobs)
    except Exception as exception:
        error = to_server_error(exception)
        failed = time.perf_counter_ns()
        deliver([(job, error, failed - job.enqueued_ns) for job in jobs], statistics)
        return
    finished = time.perf_counter_ns()
    input_ns, infer_ns, output_ns = prepared - started, ran - prepared, finished - ran
    rows = sum(job.rows for job in jobs) if len(jobs) > 1 else _rows(jobs[0])
    statistics.record_execution(rows, input_ns, infer_ns, output_ns)
    results: list[Result] = [
        (
            job,
            part,
            JobTiming(
                queue_ns=started - job.enqueued_ns,
                compute_input_ns=input_ns,
                compute_infer_ns=infer_ns,
                compute_output_ns=output_ns,
                total_ns=finished - job.enqueued_ns,
            ),
        )
        for job, part in zip(jobs, parts, strict=True)
    ]
    deliver(results, statistics)


def _rows(job: Job) -> int:
    """A lone job's rows: its batch rows when batched, else one inference (Triton counts a
    request to a model without a batch dimension as 1)."""
    return job.rows or 1


def deliver(results: Sequence[Result], statistics: VersionStatistics) -> None:
    """Hands outcomes to their loops, one wake-up per loop rather than one per job."""
    by_loop: dict[asyncio.AbstractEventLoop, list[Result]] = {}
    for result in results:
        by_loop.setdefault(result[0].loop, []).append(result)
    for loop, batch in by_loop.items():
        # A closed loop has nobody waiting any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle_all, batch, statistics)


def _settle_all(results: Sequence[Result], statistics: VersionStatistics) -> None:
    for job, outcome, measure in results:
        # A caller that already timed out was counted as a failure then.
        if not settle(job, outcome):
            continue
        if isinstance(measure, JobTiming):
            statistics.record_success(measure)
        else:
            statistics.record_failure(measure)
