"""The version manager and the control modes."""

from repository_server.manager.control import RepositoryController, StartupReport
from repository_server.manager.desired import DesiredModel, VersionKey, desire
from repository_server.manager.manager import ModelManager, VersionLoadError
from repository_server.manager.served import ServedVersion
from repository_server.manager.states import VersionState, VersionStatus

__all__ = [
    "DesiredModel",
    "ModelManager",
    "RepositoryController",
    "ServedVersion",
    "StartupReport",
    "VersionKey",
    "VersionLoadError",
    "VersionState",
    "VersionStatus",
    "desire",
]
