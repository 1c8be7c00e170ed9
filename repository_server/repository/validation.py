"""Strict JSON reading and JSON Schema checks with errors that name the field."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
import jsonschema.exceptions
from referencing import Registry, Resource

SCHEMA_FILES = ("version_policy.schema.json", "model_config.schema.json")


class SchemaError(ValueError):
    """A document does not parse or does not fit its schema; the message names the field."""


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise SchemaError(f"duplicate key '{key}'")
        result[key] = value
    return result


def loads_strict(text: str | bytes) -> Any:
    """Parses JSON, rejecting duplicate keys (json.loads would keep the last one silently)."""
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicates)
    except json.JSONDecodeError as error:
        raise SchemaError(f"invalid JSON: {error}") from None
    except UnicodeDecodeError as error:
        raise SchemaError(f"invalid JSON: not UTF-8 ({error.reason})") from None


@cache
def _schemas() -> dict[str, dict[str, Any]]:
    folder = resources.files("repository_server.repository") / "schemas"
    return {name: json.loads((folder / name).read_text("utf-8")) for name in SCHEMA_FILES}


@cache
def _validator(schema_name: str) -> jsonschema.protocols.Validator:
    schemas = _schemas()
    registry: Registry[Any] = Registry().with_resources(
        (name, Resource.from_contents(schema)) for name, schema in schemas.items()
    )
    schema = schemas[schema_name]
    base = jsonschema.validators.validator_for(schema)
    # JSON Schema counts 2.0 as an integer; Triton's and OVMS's parsers do not, and a float
    # would reach slices and version numbers.
    checker = base.TYPE_CHECKER.redefine("integer", _is_strict_integer)
    cls = jsonschema.validators.extend(base, type_checker=checker)
    return cls(schema, registry=registry)


def _is_strict_integer(checker: Any, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


def field_path(path: Any) -> str:
    """`['input', 0, 'dims']` -> `input[0].dims`."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _describe(error: jsonschema.exceptions.ValidationError) -> str:
    where = field_path(error.absolute_path)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = schema.get("properties", {})
        unknown = sorted(key for key in error.instance if key not in allowed)
        names = ", ".join(f"'{key}'" for key in unknown)
        message = f"unknown field {names}" if len(unknown) == 1 else f"unknown fields {names}"
    elif error.validator in ("minProperties", "maxProperties") and "x-message" in schema:
        # Schemas say in words what a count rule means ("exactly one of latest, specific, all").
        message = schema["x-message"]
    elif error.validator == "pattern" and "x-message" in schema:
        message = f"{error.instance!r} {schema['x-message']}"
    else:
        message = error.message
    return f"{where}: {message}" if where else message


def validate(document: Any, schema_name: str) -> None:
    """Raises SchemaError naming the first field (by jsonschema's relevance) that is wrong."""
    error = jsonschema.exceptions.best_match(_validator(schema_name).iter_errors(document))
    if error is not None:
        raise SchemaError(_describe(error))
