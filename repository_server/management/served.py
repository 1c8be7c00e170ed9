"""The scheduler of a served version as the management API sees it."""

from __future__ import annotations

from repository_server.errors import ServerError
from repository_server.manager.served import ServedVersion
from repository_server.scheduling import Scheduler


def scheduler_of(served: ServedVersion) -> Scheduler:
    """The version's Scheduler (worker counts, worker info, queue depth)."""
    scheduler = served.scheduler
    if not isinstance(scheduler, Scheduler):
        raise ServerError(
            f"model {served.model} version {served.version}: its scheduler reports no workers"
        )
    return scheduler
