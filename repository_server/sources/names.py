"""Model names and version texts as clients send them to the management API."""

from __future__ import annotations

import re

from repository_server.errors import InvalidRequestError
from repository_server.repository.layout import TOOL_FOLDERS, is_valid_model_name, version_number

MAX_MODEL_NAME_LENGTH = 255

# TorchServe clients write versions as `2.0`; any number of zero decimals means the same version.
_TORCHSERVE_VERSION = re.compile(r"([1-9][0-9]*)(?:\.0+)?")


def validate_model_name(name: str) -> str:
    """Returns `name` when it can name a model folder, else raises InvalidRequestError.

    A name is `[A-Za-z0-9_.-]+`, at most 255 characters, and never hidden (starting with `.`,
    which also excludes `.` and `..`): the scanner ignores hidden folders, and a name must never
    reach outside the repository.
    """
    if not name:
        raise InvalidRequestError("Invalid model name '': a model name may not be empty")
    if len(name) > MAX_MODEL_NAME_LENGTH:
        raise InvalidRequestError(
            f"Invalid model name '{name[:40]}...': longer than {MAX_MODEL_NAME_LENGTH} characters"
        )
    if name in TOOL_FOLDERS:
        raise InvalidRequestError(f"Invalid model name {name!r}: reserved for tool folders")
    if not is_valid_model_name(name):
        raise InvalidRequestError(
            f"Invalid model name {name!r}: use letters, digits, '_', '.' and '-', "
            "not starting with '.'"
        )
    return name


def parse_version_text(text: str) -> int:
    """The version a URL segment or parameter names: `2` and TorchServe's `2.0` are version 2.

    Anything else (`0`, `02`, `2.5`, `v2`, `-1`) raises InvalidRequestError naming the text.
    """
    plain = version_number(text)
    if plain is not None:
        return plain
    match = _TORCHSERVE_VERSION.fullmatch(text)
    if match is None:
        raise InvalidRequestError(
            f"Invalid model version {text!r}: expected a positive integer such as 2 or 2.0"
        )
    return int(match.group(1))
