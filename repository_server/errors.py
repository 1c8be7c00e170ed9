"""The domain errors. Each carries its HTTP status and the TorchServe exception name; each HTTP
surface maps them in one place (`{"error": ...}` for KServe v2, `{"code", "type", "message"}` for
TorchServe)."""

from __future__ import annotations


class ServerError(Exception):
    """Base of every error a client can cause or see."""

    status: int = 500
    torchserve_type: str = "InternalServerException"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequestError(ServerError):
    """The request is malformed or does not fit the model; the message names what is wrong."""

    status = 400
    torchserve_type = "BadRequestException"


class ModelNotFoundError(ServerError):
    """No model of that name is known."""

    status = 404
    torchserve_type = "ModelNotFoundException"

    def __init__(self, model: str, message: str | None = None) -> None:
        self.model = model
        super().__init__(message or f"Request for unknown model: '{model}' is not found")


class NoVersionAvailableError(ServerError):
    """The model is known but no version of it is READY."""

    status = 404
    torchserve_type = "ModelNotFoundException"

    def __init__(self, model: str) -> None:
        self.model = model
        super().__init__(f"Request for unknown model: '{model}' has no available versions")


class VersionNotFoundError(ServerError):
    """The model is known but that version is not."""

    status = 404
    torchserve_type = "ModelVersionNotFoundException"

    def __init__(self, model: str, version: int) -> None:
        self.model = model
        self.version = version
        super().__init__(f"Request for unknown model: '{model}' version {version} is not found")


class VersionNotReadyError(ServerError):
    """The version is known but not READY (loading, unloading, failed or unloaded)."""

    status = 503
    torchserve_type = "ServiceUnavailableException"

    def __init__(self, model: str, version: int, state: str = "", reason: str = "") -> None:
        self.model = model
        self.version = version
        self.state = state
        self.reason = reason
        super().__init__(f"'{model}' version {version} is not at ready state")


class QueueFullError(ServerError):
    """The version's job queue is full, or it has no worker; answered at once, never queued.

    The message is TorchServe's (seed 004); `naming_version` gives the one for a request that
    named its version, without TorchServe's stray quote.
    """

    status = 503
    torchserve_type = "ServiceUnavailableException"

    def __init__(
        self, model: str, version: int | None, queue_size: int, *, version_named: bool = False
    ) -> None:
        self.model = model
        self.version = version
        self.queue_size = queue_size
        subject = f'Model "{model}"'
        if version_named and version is not None:
            subject += f" Version {version}"
        super().__init__(
            f"{subject} has no worker to serve inference request. "
            "Please use scale workers API to add workers."
        )

    def naming_version(self) -> QueueFullError:
        """The same refusal for a request that named the version in its path."""
        return QueueFullError(self.model, self.version, self.queue_size, version_named=True)


class WorkerStartError(ServerError):
    """A worker thread could not be started (the process is out of threads or memory); the
    version keeps the workers it had."""

    status = 500
    torchserve_type = "WorkerInitializationException"


class RequestTimeoutError(ServerError):
    """The request waited or ran longer than the model's response timeout."""

    status = 408
    torchserve_type = "RequestTimeoutException"


class InferenceFailedError(ServerError):
    """The runtime raised while running a request; the message carries the runtime's words."""

    status = 500
    torchserve_type = "InternalServerException"


class ControlModeError(ServerError):
    """The control mode forbids the change (load/unload/register outside EXPLICIT mode)."""

    status = 503
    torchserve_type = "ServiceUnavailableException"


class ConflictError(ServerError):
    status = 409
    torchserve_type = "ConflictStatusException"


class ForbiddenError(ServerError):
    status = 403
    torchserve_type = "InvalidModelVersionException"


class LoadFailedError(ServerError):
    """A load requested through an API failed; versions that were serving still serve."""

    status = 400
    torchserve_type = "InternalServerException"


class DownloadFailedError(ServerError):
    """A model archive could not be downloaded from an allowed URL."""

    status = 400
    torchserve_type = "DownloadArchiveException"


class PayloadTooLargeError(ServerError):
    status = 413
    torchserve_type = "BadRequestException"


class UnsupportedEncodingError(ServerError):
    """A request body in a Content-Encoding the server cannot decode."""

    status = 415


class UnauthorizedError(ServerError):
    status = 401
    torchserve_type = "InvalidKeyException"


class ServerNotReadyError(ServerError):
    status = 503
    torchserve_type = "ServiceUnavailableException"


class ConfigurationError(Exception):
    """Invalid server settings (a bad flag or config file); the CLI prints it and exits."""
