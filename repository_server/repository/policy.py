"""Version policies (OVMS / TF Serving / Triton): which of a model's versions are served."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from repository_server.repository.validation import SchemaError, loads_strict, validate


class VersionPolicy(ABC):
    """Selects the versions to serve from those that exist on disk."""

    @abstractmethod
    def select(self, available: Iterable[int]) -> frozenset[int]:
        """The served subset of `available`."""

    def missing(self, available: Iterable[int]) -> frozenset[int]:
        """Versions the policy names explicitly that have no folder (only `specific` names any)."""
        return frozenset()

    @abstractmethod
    def to_json(self) -> dict[str, Any]:
        """The policy in the JSON form it is written in."""

    def __str__(self) -> str:
        return json.dumps(self.to_json(), separators=(", ", ": "))


@dataclass(frozen=True)
class LatestPolicy(VersionPolicy):
    num_versions: int = 1

    def select(self, available: Iterable[int]) -> frozenset[int]:
        return frozenset(sorted(available, reverse=True)[: self.num_versions])

    def to_json(self) -> dict[str, Any]:
        return {"latest": {"num_versions": self.num_versions}}


@dataclass(frozen=True)
class SpecificPolicy(VersionPolicy):
    versions: frozenset[int]

    def select(self, available: Iterable[int]) -> frozenset[int]:
        return self.versions.intersection(available)

    def missing(self, available: Iterable[int]) -> frozenset[int]:
        return self.versions.difference(available)

    def to_json(self) -> dict[str, Any]:
        return {"specific": {"versions": sorted(self.versions)}}


@dataclass(frozen=True)
class AllPolicy(VersionPolicy):
    def select(self, available: Iterable[int]) -> frozenset[int]:
        return frozenset(available)

    def to_json(self) -> dict[str, Any]:
        return {"all": {}}


DEFAULT_POLICY: VersionPolicy = LatestPolicy(1)


def policy_from_json(document: Any) -> VersionPolicy:
    """Builds a policy from its parsed JSON form; raises SchemaError naming what is wrong."""
    validate(document, "version_policy.schema.json")
    ((kind, body),) = document.items()
    if kind == "latest":
        return LatestPolicy(body["num_versions"])
    if kind == "specific":
        return SpecificPolicy(frozenset(body["versions"]))
    return AllPolicy()


def parse_policy(text: str) -> VersionPolicy:
    """Parses a policy written as JSON text (the `--model-version-policy` flag).

    Duplicate keys are rejected, as OVMS does: `{"all": {}, "all": {}}` is not one policy.
    """
    return policy_from_json(loads_strict(text))


__all__ = [
    "DEFAULT_POLICY",
    "AllPolicy",
    "LatestPolicy",
    "SchemaError",
    "SpecificPolicy",
    "VersionPolicy",
    "parse_policy",
    "policy_from_json",
]
