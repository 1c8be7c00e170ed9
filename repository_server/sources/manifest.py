"""TorchServe's `MAR-INF/MANIFEST.json`, as `torch-model-archiver` writes it into a `.mar`.

It names the model (`model.modelName`, used when the registration gives no `model_name`) and its
version (`model.modelVersion`, default `1.0`: the version folder of an archive whose model file
lies at its root). Checked as TorchServe checks it, with its messages first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from repository_server.errors import InvalidRequestError
from repository_server.sources.names import parse_version_text

MANIFEST_FOLDER = "MAR-INF"
MANIFEST_FILE = "MANIFEST.json"
MANIFEST_PATH = f"{MANIFEST_FOLDER}/{MANIFEST_FILE}"
# TorchServe's runtimes; we run no handler code, so they are only recorded.
RUNTIMES = ("python", "python3", "LSP")
DEFAULT_VERSION = "1.0"


class InvalidModelError(InvalidRequestError):
    """The archive's manifest cannot be used (TorchServe's InvalidModelException, 400)."""

    torchserve_type = "InvalidModelException"


@dataclass(frozen=True)
class Manifest:
    model_name: str | None  # None: not given, the archive's name stands for it
    version: int
    handler: str | None = None
    runtime: str | None = None


def known_runtime(text: str) -> str | None:
    """TorchServe's spelling of a runtime (any case accepted), or None when it is not one."""
    return next((known for known in RUNTIMES if known.lower() == text.lower()), None)


def parse_manifest(data: bytes, archive_name: str) -> Manifest:
    """Reads a manifest's bytes; InvalidModelError naming the archive and the broken field."""
    where = f"{MANIFEST_PATH} of {archive_name}"
    try:
        document = json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidModelError(f"Failed to parse {where}: {error}") from None
    if not isinstance(document, dict):
        raise InvalidModelError(f"Failed to parse {where}: expected a JSON object")
    model = document.get("model")
    if not isinstance(model, dict):
        raise InvalidModelError(f"Missing Model entry in manifest file. ({where})")
    name = model.get("modelName")
    if name is not None and not isinstance(name, str):
        raise InvalidModelError(
            f"Model name is not defined. ({where}: model.modelName is {name!r}, not a string)"
        )
    return Manifest(
        model_name=name or None,
        version=_version(model.get("modelVersion"), where),
        handler=_text(model, "handler", where),
        runtime=_runtime(document.get("runtime"), where),
    )


def _version(value: Any, where: str) -> int:
    if value is None or value == "":
        value = DEFAULT_VERSION
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidModelError(f"{where}: model.modelVersion {value!r} is not a version")
    try:
        return parse_version_text(str(value))
    except InvalidRequestError:
        raise InvalidModelError(
            f"{where}: model.modelVersion {str(value)!r} cannot be served here: a version is a "
            "positive whole number such as 2 or 2.0"
        ) from None


def _text(model: dict[str, Any], key: str, where: str) -> str | None:
    value = model.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidModelError(f"{where}: model.{key} must be a string, not {value!r}")
    return value or None


def _runtime(value: Any, where: str) -> str | None:
    if value is None:
        return None
    runtime = known_runtime(value) if isinstance(value, str) else None
    if runtime is None:
        raise InvalidModelError(
            f"Runtime is not defined or invalid. ({where}: runtime {value!r}, expected one of "
            f"{', '.join(RUNTIMES)})"
        )
    return runtime
