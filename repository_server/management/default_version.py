"""TorchServe's set-default (`PUT /models/{m}/{v}/set-default`): pins the version requests
without a version go to; allowed in every control mode."""

from __future__ import annotations

from repository_server.errors import ServerError, VersionNotFoundError
from repository_server.management.lookup import require_version
from repository_server.manager.manager import ModelManager


class UnknownVersionError(ServerError):
    """TorchServe's set-default words it without colons, unlike its other version errors."""

    status = 404
    torchserve_type = "ModelVersionNotFoundException"


def set_default_version(manager: ModelManager, name: str, version: int) -> str:
    try:
        require_version(manager, name, version)
        manager.set_default(name, version)
    except VersionNotFoundError:
        raise UnknownVersionError(
            f"Model version {version} does not exist for model {name}"
        ) from None
    return f'Default version successfully updated for model "{name}" to "{version}"'
