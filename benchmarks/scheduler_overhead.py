"""Per-request overhead of the scheduler (queue, worker thread hand-off, future completion)
against calling the model directly, on a model that does almost nothing.

Run: .venv/bin/python benchmarks/scheduler_overhead.py [--requests 20000] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Mapping

import numpy as np

from backends.base import LoadedModel, ModelMetadata, TensorSpec
from repository_server.repository.config import DynamicBatching
from repository_server.scheduling import Scheduler, VersionStatistics


class IdentityModel(LoadedModel):
    """Returns its input: the cost measured is the scheduler's, not the model's."""

    metadata = ModelMetadata(
        "bench", (TensorSpec("INPUT0", "FP32", (-1, 4)),), (TensorSpec("OUTPUT0", "FP32", (-1, 4)),)
    )

    def infer(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"OUTPUT0": inputs["INPUT0"]}

    def close(self) -> None:
        pass


def direct_microseconds(model: LoadedModel, inputs: dict[str, np.ndarray], requests: int) -> float:
    started = time.perf_counter()
    for _ in range(requests):
        model.infer(inputs)
    return (time.perf_counter() - started) / requests * 1e6


async def scheduled(
    model: LoadedModel,
    inputs: dict[str, np.ndarray],
    requests: int,
    concurrency: int,
    workers: int,
    batching: DynamicBatching | None,
) -> tuple[float, list[float]]:
    """Requests per second and each request's latency in microseconds."""
    scheduler = Scheduler(
        model,
        "bench",
        1,
        workers=workers,
        queue_size=max(concurrency, 1),
        max_batch_size=32 if batching else 0,
        batching=batching,
        statistics=VersionStatistics(),
    )
    latencies: list[float] = []

    async def client(count: int) -> None:
        for _ in range(count):
            sent = time.perf_counter()
            await scheduler.infer(inputs, 30)
            latencies.append((time.perf_counter() - sent) * 1e6)

    share = requests // concurrency
    started = time.perf_counter()
    await asyncio.gather(*(client(share) for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    await scheduler.close(10)
    return share * concurrency / elapsed, latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * fraction), len(ordered) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()

    model = IdentityModel()
    inputs = {"INPUT0": np.ones((1, 4), dtype=np.float32)}
    direct = statistics.median(
        direct_microseconds(model, inputs, arguments.requests) for _ in range(arguments.repeat)
    )
    print(f"direct model.infer: {direct:8.2f} us per call")
    print(f"{'mode':>10} {'conc':>5} {'req/s':>10} {'p50 us':>9} {'p99 us':>9} {'overhead us':>12}")
    for batching in (None, DynamicBatching()):
        mode = "batching" if batching else "plain"
        for concurrency in (1, 8, 32):
            runs = [
                asyncio.run(
                    scheduled(
                        model, inputs, arguments.requests, concurrency, arguments.workers, batching
                    )
                )
                for _ in range(arguments.repeat)
            ]
            rate, latencies = max(runs, key=lambda run: run[0])
            p50 = percentile(latencies, 0.5)
            # At concurrency 1 the median latency less the direct call is the scheduler's cost.
            overhead = f"{p50 - direct:12.2f}" if concurrency == 1 else f"{'':>12}"
            print(
                f"{mode:>10} {concurrency:>5} {rate:>10.0f} {p50:>9.1f} "
                f"{percentile(latencies, 0.99):>9.1f} {overhead}"
            )


if __name__ == "__main__":
    main()
