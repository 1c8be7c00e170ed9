"""TorchServe's config.properties keys mapped onto our Settings fields, both ways.

Read: TorchServe's keys (`inference_address`, `management_address`, `metrics_address`,
`model_store`, `load_models`, `job_queue_size`, `default_workers_per_model`,
`default_response_timeout`, `allowed_urls`, `max_request_size`) and every Settings field by its own
name (`model_repository`, `model_control_mode`, `model_version_policy`, ...), each value parsed
as its flag would be. A `load_models` key without `model_control_mode` implies EXPLICIT mode,
TorchServe's way of working. Written (`snapshot_settings`): the addresses in TorchServe's form,
the rest under our field names, never the tokens.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import Field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from repository_server.errors import ConfigurationError
from repository_server.repository.layout import is_valid_model_name
from repository_server.settings import ControlMode, Settings, settings_fields

MODEL_SNAPSHOT_KEY = "model_snapshot"

# TorchServe's address keys -> the port field each sets; all three share our one `host`.
ADDRESS_KEYS = {
    "inference_address": "http_port",
    "management_address": "management_port",
    "metrics_address": "metrics_port",
}
TORCHSERVE_DEFAULT_HOST = "127.0.0.1"
# TorchServe keys whose names differ from our fields.
RENAMED_KEYS = {"load_models": "load_model", "default_response_timeout": "response_timeout"}
# Fields never read from a file or written to a snapshot: secrets do not belong in the log
# folder, and a config file naming another config file leads nowhere.
NOT_IN_FILES = frozenset({"ts_config", "management_token", "inference_token"})
# Not written to snapshots: they are ignored when a snapshot is restored, or meaningless there.
NOT_IN_SNAPSHOTS = NOT_IN_FILES | {"load_model", "no_config_snapshots", "host"}
ARCHIVE_SUFFIXES = (".mar", ".zip", ".tar.gz", ".tgz")

_FIELDS: dict[str, Field[Any]] = {f.name: f for f in settings_fields()}
_READABLE_FIELDS = frozenset(_FIELDS) - NOT_IN_FILES


def settings_underlay(
    properties: Mapping[str, str], source: str = "<config>"
) -> tuple[dict[str, Any], list[str]]:
    """Settings field name -> parsed value for every key we know, and the keys we do not.

    Raises ConfigurationError naming the key and `source` when a value is bad.
    """
    underlay: dict[str, Any] = {}
    set_by: dict[str, str] = {}
    unknown: list[str] = []

    def put(key: str, name: str, value: Any) -> None:
        if name in underlay and underlay[name] != value:
            raise ConfigurationError(
                f"{source}: {set_by[name]} and {key} disagree about {name} "
                f"({underlay[name]!s} and {value!s})"
            )
        underlay[name] = value
        set_by[name] = key

    hosts: dict[str, str] = {}
    for key, raw in properties.items():
        if key == MODEL_SNAPSHOT_KEY:
            continue
        if not raw.strip() and (key in RENAMED_KEYS or key in _READABLE_FIELDS):
            # `model_store=` says nothing: the default stands, as in TorchServe.
            continue
        try:
            if key in ADDRESS_KEYS:
                hosts[key], port = _parse_address(raw)
                put(key, ADDRESS_KEYS[key], port)
            elif key == "load_models":
                put(key, "load_model", _parse_load_models(raw))
            elif key in RENAMED_KEYS:
                put(key, RENAMED_KEYS[key], _parse_field(RENAMED_KEYS[key], raw))
            elif key in _READABLE_FIELDS:
                put(key, key, _parse_field(key, raw))
            else:
                unknown.append(key)
        except ValueError as error:
            raise ConfigurationError(f"{source}: {key}={raw!r}: {error}") from None
    if hosts:
        put(next(iter(hosts)), "host", _one_host(hosts, source))
    if underlay.get("load_model") and "model_control_mode" not in underlay:
        underlay["model_control_mode"] = ControlMode.EXPLICIT
    return underlay, unknown


def _parse_address(text: str) -> tuple[str, int]:
    """`http://host:port` -> (host, port)."""
    if text.startswith("unix:"):
        raise ValueError("unix socket addresses are not supported; use http://HOST:PORT")
    parts = urlsplit(text.strip())
    if parts.scheme == "https":
        raise ValueError("https is not supported (no TLS here): put a TLS proxy in front")
    if parts.scheme != "http" or not parts.hostname or parts.path not in ("", "/"):
        raise ValueError("expected http://HOST:PORT")
    try:
        port = parts.port
    except ValueError:
        raise ValueError("the port is not a number from 0 to 65535") from None
    if port is None:
        raise ValueError("expected http://HOST:PORT: the port is missing")
    return parts.hostname, port


def _one_host(hosts: Mapping[str, str], source: str) -> str:
    """Every port binds one host here; an address left out binds TorchServe's default."""
    bound = {key: hosts.get(key, TORCHSERVE_DEFAULT_HOST) for key in ADDRESS_KEYS}
    if len(set(bound.values())) > 1:
        shown = ", ".join(
            f"{key} binds {host}" + ("" if key in hosts else " (TorchServe's default)")
            for key, host in bound.items()
        )
        raise ConfigurationError(
            f"{source}: {shown}; this server binds one host for every port, so give the three "
            "addresses the same host"
        )
    return next(iter(bound.values()))


def _parse_load_models(text: str) -> tuple[str, ...]:
    """TorchServe's `ALL` or `[name=]archive,...` -> model names (`*` for all)."""
    if text.strip().lower() == "all":
        return ("*",)
    names = []
    for entry in _split_list(text):
        name = entry.split("=", 1)[0] if "=" in entry else _strip_archive_suffix(entry)
        if not is_valid_model_name(name):
            raise ValueError(f"{name!r} is not a model name ([A-Za-z0-9_.-]+, not hidden)")
        names.append(name)
    return tuple(names)


def _strip_archive_suffix(entry: str) -> str:
    for suffix in ARCHIVE_SUFFIXES:
        if entry.endswith(suffix):
            return entry[: -len(suffix)]
    return entry


def _split_list(text: str) -> list[str]:
    """A JSON array of strings (what we write when an item holds a comma), else a comma list."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
        except ValueError:
            items = None
        if isinstance(items, list) and all(isinstance(item, str) for item in items):
            return items
    return [item.strip() for item in text.split(",") if item.strip()]


def _parse_field(name: str, text: str) -> Any:
    settings_field = _FIELDS[name]
    parse: Callable[[str], Any] = settings_field.metadata["parse"]
    if not settings_field.metadata["repeatable"]:
        return parse(text.strip())
    items = tuple(parse(item) for item in _split_list(text))
    if name == "allowed_urls":
        for item in items:
            _check_regex(item)
    return items


def _check_regex(pattern: str) -> None:
    try:
        re.compile(pattern)
    except re.error as error:
        raise ValueError(f"{pattern!r} is not a regular expression: {error}") from None


def snapshot_settings(settings: Settings) -> dict[str, str]:
    """The settings as config keys, the inverse of `settings_underlay`: what a snapshot stores.

    Paths are written absolute, so a snapshot means the same from any working directory.
    """
    written: dict[str, str] = {}
    for key, port_field in ADDRESS_KEYS.items():
        written[key] = f"http://{_url_host(settings.host)}:{getattr(settings, port_field)}"
    for name, settings_field in _FIELDS.items():
        value = getattr(settings, name)
        if name in NOT_IN_SNAPSHOTS or name in ADDRESS_KEYS.values() or value is None:
            continue
        if settings_field.metadata["repeatable"]:
            written[name] = _format_list(value)
        elif isinstance(value, bool):
            written[name] = "true" if value else "false"
        elif isinstance(value, Path):
            written[name] = str(value.absolute())
        else:
            written[name] = str(value)
    return written


def _url_host(host: str) -> str:
    try:
        is_v6 = ipaddress.ip_address(host).version == 6
    except ValueError:
        is_v6 = False
    return f"[{host}]" if is_v6 else host


def _format_list(items: tuple[str, ...]) -> str:
    if any("," in item or item != item.strip() for item in items) or (
        items and items[0].startswith("[")
    ):
        return json.dumps(list(items))
    return ",".join(items)
