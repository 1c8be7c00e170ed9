"""Reads a model repository into an immutable `RepositoryState`."""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from backends import registry
from repository_server.repository.config import CONFIG_FILE, ModelConfig, parse_config
from repository_server.repository.fingerprint import ContentHashCache, folder_stats
from repository_server.repository.layout import is_hidden, is_valid_model_name, version_number
from repository_server.repository.validation import SchemaError

logger = logging.getLogger(__name__)

# Files at a model's root above this size are fingerprinted by stat, not content.
_CONTENT_HASH_LIMIT = 1 << 20


@dataclass(frozen=True)
class VersionEntry:
    """One version folder as scanned: no model file is read, only listed and stat'ed."""

    version: int
    path: Path
    fingerprint: str
    file_names: frozenset[str]
    newest_mtime_ns: int
    file_count: int


@dataclass(frozen=True)
class ModelEntry:
    """One model folder. `problem` says why it cannot be served at all (None when it can)."""

    name: str
    path: Path
    config: ModelConfig | None
    # Changes whenever config.json or a file beside it (labels) changes in content.
    files_fingerprint: str
    versions: Mapping[int, VersionEntry]
    backend: str | None
    problem: str | None = None

    def newest_version(self) -> int | None:
        return max(self.versions) if self.versions else None


@dataclass(frozen=True)
class RepositoryState:
    root: Path
    models: Mapping[str, ModelEntry]
    # Set when the repository itself cannot be read; the models then are empty.
    problem: str | None = None


def _no_versions_problem(name: str) -> str:
    return (
        f"{name}: no version folder found; a version folder is named by a positive integer "
        "without leading zeros, like 1 or 12"
    )


def _no_model_file_problem(name: str, version: int) -> str:
    expected = [" + ".join(files) for _, files in registry.DETECTION_ORDER]
    return f"{name}/{version}: no model file found; expected {', '.join(expected)}"


class RepositoryScanner:
    """Scans `<root>/<model>/[config.json] [labels] <version>/<files>`.

    It remembers what it already warned about, so an odd folder is logged once and not on every
    scan, and it re-reads a config or labels file only when its stat changes.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self._warned: set[str] = set()
        self._contents = ContentHashCache()
        # model name -> (config.json content hash, what it parsed to)
        self._configs: dict[str, tuple[str, ModelConfig | SchemaError]] = {}

    def scan(self) -> RepositoryState:
        try:
            entries = list(os.scandir(self.root))
        except OSError as error:
            return RepositoryState(
                self.root, MappingProxyType({}), f"cannot read the model repository: {error}"
            )
        models: dict[str, ModelEntry] = {}
        for entry in sorted(entries, key=lambda e: e.name):
            if is_hidden(entry.name) or not entry.is_dir():
                continue
            if not is_valid_model_name(entry.name):
                self._warn_once(
                    entry.name,
                    f"ignoring folder '{entry.name}': a model name has only letters, digits, "
                    "'_', '.' and '-'",
                )
                continue
            model = self._scan_model(entry.name, Path(entry.path))
            if model is not None:
                models[entry.name] = model
        return RepositoryState(self.root, MappingProxyType(models))

    def scan_model(self, name: str) -> ModelEntry | None:
        """Scans one model folder; None when there is no such folder."""
        if not is_valid_model_name(name):
            return None
        return self._scan_model(name, self.root / name)

    def _scan_model(self, name: str, path: Path) -> ModelEntry | None:
        try:
            entries = list(os.scandir(path))
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as error:
            return ModelEntry(name, path, None, "", MappingProxyType({}), None, f"{name}: {error}")
        versions: dict[int, VersionEntry] = {}
        root_files: list[str] = []
        for entry in entries:
            if is_hidden(entry.name):
                continue
            if entry.is_dir():
                number = version_number(entry.name)
                if number is None:
                    self._warn_once(
                        f"{name}/{entry.name}",
                        f"ignoring folder '{name}/{entry.name}': a version folder is named by a "
                        "positive integer without leading zeros, like 1 or 12",
                    )
                    continue
                stats = folder_stats(Path(entry.path))
                versions[number] = VersionEntry(
                    number,
                    Path(entry.path),
                    stats.fingerprint,
                    stats.top_level_names,
                    stats.newest_mtime_ns,
                    stats.file_count,
                )
            elif entry.is_file():
                root_files.append(entry.name)
        fingerprint, config, problem = self._read_model_files(name, path, sorted(root_files))
        backend = None
        if config is not None:
            backend = config.backend or self._detect_backend(versions)
            if problem is None and not versions:
                problem = _no_versions_problem(name)
            elif problem is None and backend is None:
                problem = _no_model_file_problem(name, max(versions))
        return ModelEntry(
            name, path, config, fingerprint, MappingProxyType(versions), backend, problem
        )

    def _read_model_files(
        self, name: str, path: Path, root_files: list[str]
    ) -> tuple[str, ModelConfig | None, str | None]:
        """Fingerprint of the files beside the versions, the config, and a problem if any."""
        digest = hashlib.blake2b(digest_size=16)
        config_digest = ""
        config_text = b""
        for file_name in root_files:
            file_path = path / file_name
            try:
                stat = file_path.stat()
                if stat.st_size > _CONTENT_HASH_LIMIT:
                    part = f"{stat.st_size}:{stat.st_mtime_ns}"
                else:
                    part, content = self._contents.read(file_path)
                    if file_name == CONFIG_FILE:
                        config_digest, config_text = part, content
            except OSError as error:
                if file_name == CONFIG_FILE:
                    return "", None, f"{name}/{CONFIG_FILE}: cannot be read: {error.strerror}"
                continue
            digest.update(f"{file_name}\0{part}\n".encode())
        if CONFIG_FILE not in root_files:
            return digest.hexdigest(), ModelConfig(name=name), None
        cached = self._configs.get(name)
        if cached is not None and cached[0] == config_digest:
            parsed = cached[1]
        else:
            try:
                parsed = parse_config(config_text, name)
            except SchemaError as error:
                parsed = error
            self._configs[name] = (config_digest, parsed)
        if isinstance(parsed, SchemaError):
            return digest.hexdigest(), None, f"{name}/{CONFIG_FILE}: {parsed}"
        missing = [label for label in parsed.label_files() if label not in root_files]
        if missing:
            return (
                digest.hexdigest(),
                None,
                f"{name}/{CONFIG_FILE}: label_filename {missing[0]!r} is not in the model folder",
            )
        return digest.hexdigest(), parsed, None

    @staticmethod
    def _detect_backend(versions: Mapping[int, VersionEntry]) -> str | None:
        # The newest version that holds a recognisable model file decides: a newer folder still
        # being copied does not make the model undetectable.
        for number in sorted(versions, reverse=True):
            backend = registry.detect(versions[number].file_names)
            if backend is not None:
                return backend
        return None

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            logger.warning(message)
