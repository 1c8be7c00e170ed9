"""What the inference endpoints do, without HTTP: lookups, readiness, inference, statistics,
configs and the repository extension. Endpoints only translate to and from the wire."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

from backends import registry
from backends.base import TensorSpec
from repository_server import __version__
from repository_server.errors import (
    InvalidRequestError,
    ModelNotFoundError,
    ServerError,
    ServerNotReadyError,
    VersionNotFoundError,
)
from repository_server.kserve import Signature
from repository_server.manager.served import ServedVersion
from repository_server.manager.states import VersionState
from repository_server.model_server import ModelServer
from repository_server.repository.config import (
    ModelConfig,
    TensorConfig,
    config_to_json,
    parse_config,
)
from repository_server.repository.validation import SchemaError
from repository_server.sources.names import parse_version_text

SERVER_NAME = "repository-server"
EXTENSIONS = (
    "classification",
    "model_repository",
    "model_configuration",
    "binary_tensor_data",
    "parameters",
    "statistics",
)
_DIGITS = re.compile(r"[0-9]+")


def parse_version(text: str | None) -> int | None:
    """A version from a v2 URL (`/versions/2`); None when the URL names none."""
    if text is None or text == "":
        return None
    if not _DIGITS.fullmatch(text):
        raise InvalidRequestError(
            f"failed to get model version from specified version string '{text}'"
        )
    return int(text)


def _tensors(specs: tuple[TensorSpec, ...], max_batch_size: int) -> tuple[TensorConfig, ...]:
    skip = 1 if max_batch_size > 0 else 0
    return tuple(TensorConfig(spec.name, spec.datatype, spec.shape[skip:]) for spec in specs)


class DataPlane:
    """The server's inference-side operations, shared by the v2 and TorchServe routes."""

    def __init__(self, server: ModelServer) -> None:
        self.server = server
        self.manager = server.manager
        self.controller = server.controller
        self.server_metadata: dict[str, Any] = {
            "name": SERVER_NAME,
            "version": __version__,
            "extensions": list(EXTENSIONS),
        }

    # -- lookups ------------------------------------------------------------------------------

    def served(self, name: str, version: int | None) -> ServedVersion:
        return self.manager.get(name, version)

    def require_known(self, name: str, version_text: str | None) -> None:
        """Raises ModelNotFoundError or VersionNotFoundError unless the model (and the version,
        `2`, `2.0` or `all`) is one the server knows, loaded or not."""
        record = self.manager.record(name)
        if record is None:
            raise ModelNotFoundError(name)
        if version_text is None or version_text == "all":
            return
        version = parse_version_text(version_text)
        if version not in record.slots:
            raise VersionNotFoundError(name, version)

    def ready_version_names(self, name: str) -> list[str]:
        record = self.manager.record(name)
        if record is None:
            return []
        return [str(number) for number in sorted(record.ready)]

    def model_metadata(self, name: str, version: int | None) -> dict[str, Any]:
        served = self.served(name, version)
        versions = [str(version)] if version is not None else self.ready_version_names(name)
        platform = served.config.platform or registry.BACKENDS[served.backend].platform
        signature: Signature = served.extras["signature"]
        return signature.metadata_json(versions, platform)

    def model_config(self, name: str, version: int | None) -> dict[str, Any]:
        """Triton's config view; like Triton's auto-complete, tensors the config leaves out are
        filled in from the model itself."""
        served = self.served(name, version)
        config = self._config_in_force(name, served)
        if not config.inputs or not config.outputs:
            config = dataclasses.replace(
                config,
                inputs=config.inputs or _tensors(served.metadata.inputs, config.max_batch_size),
                outputs=config.outputs or _tensors(served.metadata.outputs, config.max_batch_size),
            )
        return config_to_json(config, served.backend, self.controller.default_policy)

    def _config_in_force(self, name: str, served: ServedVersion) -> ModelConfig:
        """The model's current config when it differs from the one the version loaded with only
        where changes apply in place (version policy, instance count); else the loaded one."""
        record = self.manager.record(name)
        current = record.config if record is not None else None
        if current is not None and current.reload_key() == served.config.reload_key():
            return current
        return served.config

    def is_model_ready(self, name: str, version: int | None) -> bool:
        """True when READY; raises the lookup error Triton gives for unknown names and versions."""
        served = self.served(name, version)
        return served.state is VersionState.READY

    # -- statistics ---------------------------------------------------------------------------

    def statistics(self, name: str | None, version: int | None) -> dict[str, Any]:
        if name is None:
            versions = list(self.manager.ready_versions())
        else:
            record = self.manager.record(name)
            if record is None or not record.ready:
                raise InvalidRequestError(f"requested model '{name}' is not available")
            if version is None:
                versions = [record.ready[number] for number in sorted(record.ready)]
            elif version in record.ready:
                versions = [record.ready[version]]
            else:
                raise InvalidRequestError(
                    f"requested model version is not available for model '{name}'"
                )
        return {
            "model_stats": [
                served.scheduler.statistics.to_json(served.model, served.version)
                for served in versions
            ]
        }

    # -- the repository extension -------------------------------------------------------------

    def index(self, ready_only: bool) -> list[dict[str, str]]:
        return self.controller.index(ready_only)

    async def load(self, name: str, parameters: Mapping[str, Any]) -> None:
        # The control mode first: outside EXPLICIT mode the answer never depends on timing.
        self.controller.require_explicit()
        if not self.controller.started or self.server.exiting:
            raise ServerNotReadyError("Server not ready")
        override = self._config_override(name, parameters)
        try:
            await self.controller.load(name, override)
        finally:
            # Even a failed load may have loaded some versions: the snapshot follows what is.
            self.server.notify_changed(f"load {name}")

    @staticmethod
    def _config_override(name: str, parameters: Mapping[str, Any]) -> ModelConfig | None:
        for key, value in parameters.items():
            if not isinstance(value, str):
                raise InvalidRequestError(
                    f"Unrecognized load parameter '{key}' with type '{type(value).__name__}'"
                )
            if key.startswith("file:"):
                # Triton would load these bytes from a temporary folder; we serve only what is in
                # the repository, so the request is refused rather than silently ignored.
                raise InvalidRequestError(
                    f"load parameter '{key}': loading model files from the request is not "
                    "supported; copy them into the model repository"
                )
            if key != "config":
                raise InvalidRequestError(f"Unrecognized load parameter '{key}'")
        text = parameters.get("config")
        if text is None:
            return None
        try:
            return parse_config(text, name)
        except SchemaError as error:
            raise InvalidRequestError(f"Invalid config override: {error}") from error

    async def unload(self, name: str) -> None:
        # The control mode first: outside EXPLICIT mode the answer never depends on timing.
        self.controller.require_explicit()
        if not self.controller.started or self.server.exiting:
            raise ServerNotReadyError("Server not ready")
        await self.controller.unload(name)
        self.server.notify_changed(f"unload {name}")
        record = self.manager.record(name)
        if record is not None and record.ready:
            still = ",".join(str(number) for number in sorted(record.ready))
            raise ServerError(
                f"failed to unload '{name}', versions that are still available: {still}"
            )
