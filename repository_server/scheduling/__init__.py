"""Per-version request scheduling: bounded job queue, worker threads, dynamic batching and
Triton statistics."""

from repository_server.scheduling.limits import MAX_WORKERS_PER_VERSION, check_worker_count
from repository_server.scheduling.scheduler import Scheduler
from repository_server.scheduling.statistics import (
    BatchStatistics,
    Duration,
    StatisticsSnapshot,
    VersionStatistics,
)
from repository_server.scheduling.worker import WorkerInfo, WorkerStatus

__all__ = [
    "MAX_WORKERS_PER_VERSION",
    "BatchStatistics",
    "Duration",
    "Scheduler",
    "StatisticsSnapshot",
    "VersionStatistics",
    "WorkerInfo",
    "WorkerStatus",
    "check_worker_count",
]
