"""Run as `python -m tests.scheduling.starved`: scales a scheduler while the process cannot start
more than a couple of threads (an address-space limit, so each thread's stack fails to map), and
prints what the scheduler was left with as JSON. A subprocess, because the limit is per process."""

from __future__ import annotations

import asyncio
import json
import re
import resource
import threading
from pathlib import Path

from repository_server.errors import WorkerStartError
from tests.scheduling.gated import GatedModel, rows, scheduler_for

STACK = 16 * 2**20
ROOM_FOR_THREADS = 4


def _address_space() -> int:
    status = Path("/proc/self/status").read_text()
    match = re.search(r"VmSize:\s+(\d+) kB", status)
    assert match is not None
    return int(match.group(1)) * 1024


def _workers_alive() -> int:
    return sum(thread.name.startswith("gated-v1-") for thread in threading.enumerate())


async def scenario() -> dict[str, object]:
    scheduler = scheduler_for(GatedModel(), workers=1)
    outcome: dict[str, object] = {}
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    threading.stack_size(STACK)
    resource.setrlimit(resource.RLIMIT_AS, (_address_space() + ROOM_FOR_THREADS * STACK, hard))
    try:
        scheduler.scale(50)
    except WorkerStartError as error:
        outcome["status"] = error.status
        outcome["error"] = error.message
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (hard, hard))
        threading.stack_size(0)
    outcome["workers"] = scheduler.workers
    outcome["rolled_back"] = await scheduler.wait_scaled(10)
    outcome["alive_after_rollback"] = _workers_alive()
    # The version keeps working and can still be scaled both ways.
    answer = await scheduler.infer({"INPUT0": rows(0, 1)}, 30)
    outcome["answer"] = answer["OUTPUT0"].tolist()
    scheduler.scale(2)
    outcome["scaled_up"] = scheduler.workers
    scheduler.scale(0)
    outcome["scaled_down"] = await scheduler.wait_scaled(10)
    outcome["closed"] = await scheduler.close(10)
    return outcome


if __name__ == "__main__":
    print(json.dumps(asyncio.run(scenario())))
