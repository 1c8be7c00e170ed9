"""What should be served of a model: built from a scanned model folder, the version policy, and
which version folders are complete. The manager turns it into loads, swaps and unloads."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from backends import registry
from repository_server.repository.config import ModelConfig
from repository_server.repository.policy import VersionPolicy
from repository_server.repository.scanner import ModelEntry, VersionEntry, files_problem

VERSION_FOLDER_NOT_FOUND = "version folder not found"


@dataclass(frozen=True)
class VersionKey:
    """What a loaded version was loaded from; a different key means the version must reload."""

    fingerprint: str
    model_files: str
    config: ModelConfig
    backend: str


@dataclass(frozen=True)
class DesiredModel:
    name: str
    config: ModelConfig | None
    backend: str | None
    policy: VersionPolicy
    # Complete, settled version folders: the ones the policy chooses from.
    available: Mapping[int, VersionEntry] = field(default_factory=lambda: MappingProxyType({}))
    # Settled folders the policy would choose that lack the backend's files -> why.
    incomplete: Mapping[int, str] = field(default_factory=lambda: MappingProxyType({}))
    # Versions a `specific` policy names that have no folder.
    missing: frozenset[int] = frozenset()
    # Why nothing new of this model can load (an invalid config, no version folder, ...).
    problem: str | None = None
    model_files_fingerprint: str = ""
    # Versions still being written: the caller rescans once they settle.
    settling: frozenset[int] = frozenset()
    # Every version folder of the model, complete or not (a version not among them was removed).
    folders: frozenset[int] = frozenset()
    # Whether loaded versions keep serving despite `problem`: yes for a broken config.json (the
    # files that loaded are still there), no when the version folders themselves are gone.
    keeps_serving: bool = True
    # Whether `config` is an override given with the load (a registration's batch_size, a
    # Triton load's config), not the model folder's own config.
    config_overridden: bool = False

    def key(self, version: int) -> VersionKey:
        assert self.config is not None and self.backend is not None
        return VersionKey(
            self.available[version].fingerprint,
            self.model_files_fingerprint,
            self.config.reload_key(),
            self.backend,
        )


def desire(
    entry: ModelEntry,
    *,
    default_policy: VersionPolicy,
    is_settled: Callable[[VersionEntry], bool],
    config_override: ModelConfig | None = None,
) -> DesiredModel:
    """The desired state of one scanned model folder.

    A version folder counts as available only when its files have settled and the backend's
    files are all there, so a folder being copied is never loaded half-written.
    """
    config = config_override or entry.config
    if config is None:
        policy = default_policy
        return DesiredModel(entry.name, None, None, policy, problem=entry.config_problem)
    policy = config.version_policy or default_policy
    backend = config.backend or entry.detected_backend
    # An override replaces config.json, broken or not: only the version folders can still fail.
    problem = entry.config_problem if config_override is None else None
    if problem is not None:
        return DesiredModel(entry.name, config, backend, policy, problem=problem)
    problem = files_problem(entry.name, entry.versions, backend)
    if problem is not None or backend is None:
        return DesiredModel(
            entry.name, config, backend, policy, problem=problem, keeps_serving=False
        )
    available: dict[int, VersionEntry] = {}
    incomplete: dict[int, str] = {}
    settling: set[int] = set()
    for number, version in entry.versions.items():
        if not is_settled(version):
            settling.add(number)
        elif registry.has_model_files(backend, version.file_names, config.default_model_filename):
            available[number] = version
        else:
            expected = " or ".join(registry.expected_files(backend, config.default_model_filename))
            incomplete[number] = (
                f"{entry.name}/{number}: incomplete version folder; expected {expected}"
            )
    wanted_incomplete = policy.select({*available, *incomplete}) & incomplete.keys()
    return DesiredModel(
        entry.name,
        config,
        backend,
        policy,
        available=MappingProxyType(available),
        incomplete=MappingProxyType({v: incomplete[v] for v in wanted_incomplete}),
        missing=policy.missing(entry.versions),
        # config.json changes reach the key through the parsed config (so an instance_group-only
        # edit does not reload); labels and other files beside the versions count by content.
        model_files_fingerprint=entry.labels_fingerprint,
        settling=frozenset(settling),
        folders=frozenset(entry.versions),
        config_overridden=config_override is not None,
    )
