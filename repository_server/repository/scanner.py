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
from repository_server.repository.layout import (
    MAX_VERSION,
    is_hidden,
    is_valid_model_name,
    version_number,
)
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
    newest_change_ns: int
    file_count: int


@dataclass(frozen=True)
class ModelEntry:
    """One model folder as scanned."""

    name: str
    path: Path
    config: ModelConfig | None
    # Why config.json (or a labels file it names) is unusable; None when it is fine or absent.
    config_problem: str | None
    # Changes whenever config.json or a file beside it (labels) changes in content.
    files_fingerprint: str
    # The same, without config.json: config changes are judged by the parsed config instead.
    labels_fingerprint: str
    versions: Mapping[int, VersionEntry]
    # The backend the files of the newest version that has model files point to.
    detected_backend: str | None

    @property
    def backend(self) -> str | None:
        """The config's backend, else the detected one; None when neither says."""
        if self.config is not None and self.config.backend:
            return self.config.backend
        return self.detected_backend

    @property
    def problem(self) -> str | None:
        """Why this model cannot be served at all; None when it can."""
        return self.config_problem or files_problem(self.name, self.versions, self.backend)

    def newest_version(self) -> int | None:
        return max(self.versions) if self.versions else None


@dataclass(frozen=True)
class RepositoryState:
    root: Path
    models: Mapping[str, ModelEntry]
    # Set when the repository itself cannot be read; the models then are empty.
    problem: str | None = None


def files_problem(
    name: str, versions: Mapping[int, VersionEntry], backend: str | None
) -> str | None:
    """Why the version folders of a model give nothing to serve, or None."""
    if not versions:
        return (
            f"{name}: no version folder found; a version folder is named by a positive integer "
            "without leading zeros, like 1 or 12"
        )
    if backend is None:
        expected = [" + ".join(files) for _, files in registry.DETECTION_ORDER]
        return f"{name}/{max(versions)}: no model file found; expected {', '.join(expected)}"
    return None


@dataclass(frozen=True)
class _ModelFiles:
    config: ModelConfig | None
    problem: str | None
    fingerprint: str
    labels_fingerprint: str


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
            return ModelEntry(
                name, path, None, f"{name}: {error}", "", "", MappingProxyType({}), None
            )
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
                        "positive integer without leading zeros, like 1 or 12, at most "
                        f"{MAX_VERSION}",
                    )
                    continue
                stats = folder_stats(Path(entry.path))
                versions[number] = VersionEntry(
                    number,
                    Path(entry.path),
                    stats.fingerprint,
                    stats.top_level_names,
                    stats.newest_change_ns,
                    stats.file_count,
                )
            elif entry.is_file():
                root_files.append(entry.name)
        files = self._read_model_files(name, path, sorted(root_files))
        return ModelEntry(
            name,
            path,
            files.config,
            files.problem,
            files.fingerprint,
            files.labels_fingerprint,
            MappingProxyType(versions),
            self._detect_backend(versions),
        )

    def _read_model_files(self, name: str, path: Path, root_files: list[str]) -> _ModelFiles:
        """Fingerprints of the files beside the versions, the config, and its problem if any."""
        everything = hashlib.blake2b(digest_size=16)
        labels = hashlib.blake2b(digest_size=16)
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
                    problem = f"{name}/{CONFIG_FILE}: cannot be read: {error.strerror}"
                    return _ModelFiles(None, problem, "", "")
                continue
            line = f"{file_name}\0{part}\n".encode()
            everything.update(line)
            if file_name != CONFIG_FILE:
                labels.update(line)
        fingerprints = (everything.hexdigest(), labels.hexdigest())
        if CONFIG_FILE not in root_files:
            return _ModelFiles(ModelConfig(name=name), None, *fingerprints)
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
            return _ModelFiles(None, f"{name}/{CONFIG_FILE}: {parsed}", *fingerprints)
        missing = [label for label in parsed.label_files() if label not in root_files]
        if missing:
            problem = (
                f"{name}/{CONFIG_FILE}: label_filename {missing[0]!r} is not in the model folder"
            )
            return _ModelFiles(None, problem, *fingerprints)
        return _ModelFiles(parsed, None, *fingerprints)

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
