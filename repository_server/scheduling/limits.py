"""How many workers one version may have.

Each worker is a thread. A count no host can start (`min_worker=100000`) would exhaust the
process's threads and break every later load, so counts over the maximum are refused up front,
wherever they enter: scale requests, registration's `initial_workers`, the config's
`instance_group.count`, and the scheduler itself.
"""

from __future__ import annotations

from repository_server.errors import InvalidRequestError

# Threads share one interpreter: beyond this, more workers only add contention.
MAX_WORKERS_PER_VERSION = 128


def check_worker_count(count: int, parameter: str = "worker count") -> int:
    """`count` when it is within the maximum; InvalidRequestError (400) naming `parameter` and
    the maximum otherwise, e.g. `min_worker 100000 is more than the maximum of 128 workers per
    version`."""
    if count > MAX_WORKERS_PER_VERSION:
        raise InvalidRequestError(
            f"{parameter} {count} is more than the maximum of {MAX_WORKERS_PER_VERSION} "
            "workers per version"
        )
    return count
