"""The model repository: its layout, model configs, version policies and the watcher."""

from repository_server.repository.config import ModelConfig, parse_config
from repository_server.repository.policy import (
    DEFAULT_POLICY,
    AllPolicy,
    LatestPolicy,
    SpecificPolicy,
    VersionPolicy,
    parse_policy,
)
from repository_server.repository.scanner import (
    ModelEntry,
    RepositoryScanner,
    RepositoryState,
    VersionEntry,
)
from repository_server.repository.validation import SchemaError

__all__ = [
    "DEFAULT_POLICY",
    "AllPolicy",
    "LatestPolicy",
    "ModelConfig",
    "ModelEntry",
    "RepositoryScanner",
    "RepositoryState",
    "SchemaError",
    "SpecificPolicy",
    "VersionEntry",
    "VersionPolicy",
    "parse_config",
    "parse_policy",
]
