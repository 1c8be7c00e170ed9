"""One typed settings object. The command line is built from its fields (see `cli.py`); a
TorchServe `config.properties` file or a config snapshot fills in what the command line leaves."""

from __future__ import annotations

import enum
import os
from collections.abc import Callable
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

from repository_server.errors import ConfigurationError
from repository_server.repository.policy import DEFAULT_POLICY, VersionPolicy, parse_policy
from repository_server.repository.validation import SchemaError


class ControlMode(str, enum.Enum):
    """Triton's model control modes: who may change what is loaded."""

    NONE = "none"
    POLL = "poll"
    EXPLICIT = "explicit"

    def __str__(self) -> str:
        return self.value


def parse_bool(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {text!r}")


def parse_control_mode(text: str) -> ControlMode:
    try:
        return ControlMode(text.strip().lower())
    except ValueError:
        raise ValueError(f"expected none, poll or explicit, got {text!r}") from None


def parse_version_policy(text: str) -> VersionPolicy:
    try:
        return parse_policy(text)
    except SchemaError as error:
        raise ValueError(f"{text!r} is not a version policy: {error}") from None


def parse_port(text: str) -> int:
    port = int(text)
    if not 0 <= port <= 65535:
        raise ValueError(f"{port} is not a port number (0-65535; 0 picks a free one)")
    return port


def _at_least(minimum: float, kind: Callable[[str], Any] = int) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        value = kind(text)
        if value < minimum:
            raise ValueError(f"{value} is less than the minimum of {minimum}")
        return value

    return parse


def _folder(text: str) -> Path:
    if not text.strip():
        raise ValueError("an empty path names no folder")
    return Path(text)


def setting(
    default: Any,
    help: str,
    *,
    parse: Callable[[str], Any] = str,
    aliases: tuple[str, ...] = (),
    repeatable: bool = False,
    metavar: str | None = None,
) -> Any:
    """A settings field with what the CLI needs: its help, how to parse it, its alias flags."""
    metadata = {
        "help": help,
        "parse": parse,
        "aliases": aliases,
        "repeatable": repeatable,
        "metavar": metavar,
    }
    if isinstance(default, list | dict | set):
        raise TypeError("use an immutable default")
    return field(default=default, metadata=metadata)


def flag_name(field_name: str) -> str:
    return "--" + field_name.replace("_", "-")


@dataclass(frozen=True)
class Settings:
    """Everything the server is told. Constructing it has no side effects."""

    model_repository: Path = setting(
        Path("model_repository"), "The model repository to serve.", parse=_folder, metavar="DIR"
    )
    model_control_mode: ControlMode = setting(
        ControlMode.POLL,
        "Who may change what is loaded: none (load all at start, then nothing changes), poll "
        "(follow the repository) or explicit (only --load-model and the load/unload APIs).",
        parse=parse_control_mode,
        metavar="{none,poll,explicit}",
    )
    repository_poll_secs: float = setting(
        1.0,
        "POLL mode: rescan the repository this often as well as on file events; 0 rescans only "
        "on file events.",
        parse=_at_least(0, float),
        metavar="SECONDS",
    )
    repository_settle_secs: float = setting(
        0.5,
        "A version folder is loaded only after its files have not changed for this long.",
        parse=_at_least(0, float),
        metavar="SECONDS",
    )
    load_model: tuple[str, ...] = setting(
        (),
        "EXPLICIT mode: a model to load at start (repeatable; '*' loads all and stands alone).",
        repeatable=True,
        metavar="NAME",
    )
    model_version_policy: VersionPolicy = setting(
        DEFAULT_POLICY,
        'The version policy of models whose config names none, as JSON: {"latest": '
        '{"num_versions": N}}, {"specific": {"versions": [...]}} or {"all": {}}.',
        parse=parse_version_policy,
        metavar="JSON",
    )
    model_load_thread_count: int = setting(
        4, "Threads that load models in parallel.", parse=_at_least(1), metavar="N"
    )
    exit_on_error: bool = setting(
        False, "Exit at start if any model fails to load.", parse=parse_bool, metavar="BOOL"
    )
    strict_readiness: bool = setting(
        True,
        "Ready only when every model asked for is READY or has failed for good; false: ready "
        "once the server runs.",
        parse=parse_bool,
        metavar="BOOL",
    )
    host: str = setting(
        "127.0.0.1", "The address every port binds; anything else is reachable from outside."
    )
    http_port: int = setting(8080, "The inference port.", parse=parse_port, metavar="PORT")
    management_port: int = setting(
        8081, "The TorchServe management port.", parse=parse_port, metavar="PORT"
    )
    metrics_port: int = setting(
        8082, "The Prometheus metrics port.", parse=parse_port, metavar="PORT"
    )
    job_queue_size: int = setting(
        100,
        "Requests a version queues before answering 503; a model's config parameter "
        "job_queue_size overrides it.",
        parse=_at_least(1),
        metavar="N",
    )
    default_workers_per_model: int = setting(
        1,
        "Workers of a version whose config has no instance_group count.",
        parse=_at_least(1),
        metavar="N",
    )
    response_timeout: float = setting(
        120.0,
        "Seconds a request may wait and run before it fails with 408.",
        parse=_at_least(0.001, float),
        metavar="SECONDS",
    )
    max_retry_timeout_secs: float = setting(
        300.0,
        "A model that failed to load makes /ping Unhealthy after this many seconds.",
        parse=_at_least(0, float),
        metavar="SECONDS",
    )
    max_request_size: int = setting(
        6553500, "Largest request body in bytes (413 above).", parse=_at_least(1), metavar="BYTES"
    )
    exit_timeout_secs: float = setting(
        30.0,
        "On SIGTERM/SIGINT, wait this long for in-flight requests.",
        parse=_at_least(0, float),
        metavar="SECONDS",
    )
    model_store: Path | None = setting(
        None,
        "Folder of model archives (.zip, .tar.gz, .mar) that registration may name.",
        parse=_folder,
        metavar="DIR",
    )
    allowed_urls: tuple[str, ...] = setting(
        (),
        "Regular expression (full match) of remote URLs registration may download from "
        "(repeatable); none by default.",
        repeatable=True,
        metavar="REGEX",
    )
    management_token: str | None = setting(
        None, "Require 'Authorization: Bearer TOKEN' on the management port.", metavar="TOKEN"
    )
    inference_token: str | None = setting(
        None, "Require 'Authorization: Bearer TOKEN' on the inference port.", metavar="TOKEN"
    )
    token_file: Path | None = setting(
        None,
        'A JSON key file {"management": "...", "inference": "..."} with the tokens.',
        parse=Path,
        metavar="FILE",
    )
    ts_config: Path | None = setting(
        None,
        "A TorchServe config.properties (or a config snapshot) to start from.",
        parse=Path,
        metavar="FILE",
    )
    no_config_snapshots: bool = setting(
        False,
        "Write no config snapshots and restore none.",
        parse=parse_bool,
        aliases=("--ncs",),
        metavar="BOOL",
    )
    snapshot_keep: int = setting(
        20, "Config snapshots kept; older ones are pruned.", parse=_at_least(1), metavar="N"
    )
    log_level: str = setting(
        "info",
        "Logging level: debug, info, warning or error.",
        parse=lambda text: text.lower(),
        metavar="LEVEL",
    )

    @property
    def log_location(self) -> Path:
        """TorchServe's LOG_LOCATION: snapshots go to `{LOG_LOCATION}/config`."""
        return Path(os.environ.get("LOG_LOCATION", "logs"))

    @property
    def snapshot_dir(self) -> Path:
        return self.log_location / "config"

    def check(self) -> None:
        """Rules between settings; raises ConfigurationError with the flag names."""
        if "*" in self.load_model and len(self.load_model) > 1:
            raise ConfigurationError(
                "--load-model '*' loads every model and must be the only --load-model"
            )
        if self.load_model and self.model_control_mode is not ControlMode.EXPLICIT:
            raise ConfigurationError(
                "--load-model requires --model-control-mode explicit (in none and poll mode "
                "every model is loaded)"
            )
        if self.log_level not in ("debug", "info", "warning", "error"):
            raise ConfigurationError(
                f"--log-level: expected debug, info, warning or error, got {self.log_level!r}"
            )
        ports = [self.http_port, self.management_port, self.metrics_port]
        used = [port for port in ports if port]
        if len(used) != len(set(used)):
            raise ConfigurationError(
                "--http-port, --management-port and --metrics-port must differ"
            )


def settings_fields() -> list[Any]:
    return list(fields(Settings))


def default_of(name: str) -> Any:
    (match,) = [f for f in fields(Settings) if f.name == name]
    return match.default if match.default is not MISSING else None
