"""TorchServe's management API without HTTP: register, scale, describe, unregister, list and
set-default over the model manager and the repository controller."""

from repository_server.management.errors import MethodNotAllowedError
from repository_server.management.params import RequestParams
from repository_server.management.register import RegisterOutcome, RegisterRequest
from repository_server.management.registrations import Registration, RegistrationBook
from repository_server.management.service import ManagementService
from repository_server.management.workers import ScaleOutcome, ScaleRequest

__all__ = [
    "ManagementService",
    "MethodNotAllowedError",
    "RegisterOutcome",
    "RegisterRequest",
    "Registration",
    "RegistrationBook",
    "RequestParams",
    "ScaleOutcome",
    "ScaleRequest",
]
