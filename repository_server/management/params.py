"""Request parameters of the management API, from a query string or a JSON body, read with
TorchServe's defaults and clear errors for values that cannot be used."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from repository_server.errors import InvalidRequestError

JSON_MEDIA_TYPE = "application/json"
_INTEGER = re.compile(r"-?[0-9]+")


def json_object(body: bytes) -> dict[str, Any]:
    """Parameters sent as a JSON object body (TorchServe's register takes them so too)."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise InvalidRequestError(f"Invalid JSON request body: {error}") from None
    if not isinstance(document, dict):
        raise InvalidRequestError("The JSON request body must be an object of parameters")
    return document


class RequestParams:
    """One request's parameters by name; unknown names are ignored, as TorchServe does."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = values

    def __contains__(self, name: str) -> bool:
        return self._values.get(name) is not None

    def text(self, name: str) -> str | None:
        value = self._values.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise InvalidRequestError(f"Parameter {name} must be a string, not {value!r}")
        return str(value)

    def integer(self, name: str, default: int, *, minimum: int | None = None) -> int:
        """An integer parameter; a value that is not one, or is under `minimum`, is a 400."""
        value = self._values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            raise InvalidRequestError(f"Parameter {name} must be an integer, not {value!r}")
        if isinstance(value, str):
            if not _INTEGER.fullmatch(value.strip()):
                raise InvalidRequestError(f"Parameter {name} must be an integer, not {value!r}")
            number = int(value)
        elif isinstance(value, int):
            number = value
        else:
            raise InvalidRequestError(f"Parameter {name} must be an integer, not {value!r}")
        if minimum is not None and number < minimum:
            raise InvalidRequestError(f"Parameter {name} must be at least {minimum}, not {number}")
        return number

    def lenient_integer(self, name: str, default: int) -> int:
        """TorchServe's paging reads: a value that is not an integer means the default."""
        try:
            return self.integer(name, default)
        except InvalidRequestError:
            return default

    def flag(self, name: str, default: bool) -> bool:
        """TorchServe's booleans: only `true` (any case) is true; absent means `default`."""
        value = self._values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        return str(value).strip().lower() == "true"
