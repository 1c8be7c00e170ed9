"""A backend's exceptions reach the caller as domain errors with the runtime's message."""

from __future__ import annotations

import asyncio

import pytest

from repository_server.errors import (
    InferenceFailedError,
    InvalidRequestError,
    ServerError,
    VersionNotReadyError,
)
from tests.scheduling.gated import GatedModel, rows, scheduler_for


@pytest.mark.parametrize(
    ("raised", "expected", "status", "message"),
    [
        (
            RuntimeError("CUDA error: device-side assert"),
            InferenceFailedError,
            500,
            "CUDA error: device-side assert",
        ),
        (MemoryError(), InferenceFailedError, 500, "MemoryError"),
        (ValueError("INPUT0 must be finite"), InvalidRequestError, 400, "INPUT0 must be finite"),
        (
            VersionNotReadyError("gated", 1),
            VersionNotReadyError,
            503,
            "'gated' version 1 is not at ready state",
        ),
    ],
)
def test_backend_exceptions_become_domain_errors(
    raised: Exception, expected: type[ServerError], status: int, message: str
) -> None:
    async def scenario() -> None:
        model = GatedModel()
        model.error = raised
        scheduler = scheduler_for(model, workers=1)
        try:
            with pytest.raises(expected) as caught:
                await scheduler.infer({"INPUT0": rows(0, 1)}, 30)
            assert caught.value.status == status
            assert caught.value.message == message
            # The worker survives a failing call.
            model.error = None
            await scheduler.infer({"INPUT0": rows(0, 1)}, 30)
            stats = scheduler.statistics.snapshot()
            assert (stats.success.count, stats.fail.count) == (1, 1)
            assert stats.execution_count == 1, "only successful runs count as executions"
        finally:
            await scheduler.close(10)

    asyncio.run(scenario())
