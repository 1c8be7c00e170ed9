"""Errors only the management API answers."""

from __future__ import annotations

from repository_server.errors import ServerError
from repository_server.settings import ControlMode


class MethodNotAllowedError(ServerError):
    status = 405
    torchserve_type = "MethodNotAllowedException"


def control_mode_forbids(action: str, mode: ControlMode) -> MethodNotAllowedError:
    """TorchServe answers 405 when its model API is off; ours is off outside EXPLICIT mode."""
    why = (
        "models follow the repository"
        if mode is ControlMode.POLL
        else "the models loaded at start are fixed"
    )
    return MethodNotAllowedError(
        f"{action} is not allowed in model control mode '{mode}': {why}. "
        "Start the server with --model-control-mode explicit to register and unregister models."
    )


class NoWorkerError(ServerError):
    """A call that needs a worker of a version that has none (TorchServe's 503)."""

    status = 503
    torchserve_type = "ServiceUnavailableException"
