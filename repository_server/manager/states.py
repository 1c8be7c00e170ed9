"""Per-version states, as Triton's repository index reports them."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

logger = logging.getLogger("repository_server.states")

UNLOADED = "unloaded"


class VersionState(str, enum.Enum):
    UNKNOWN = "UNKNOWN"
    LOADING = "LOADING"
    READY = "READY"
    UNLOADING = "UNLOADING"
    UNAVAILABLE = "UNAVAILABLE"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class VersionStatus:
    """One row of the repository index: a model version, its state and why."""

    model: str
    version: int | None
    state: VersionState
    reason: str = ""

    def to_json(self) -> dict[str, str]:
        entry = {"name": self.model}
        if self.version is not None:
            entry["version"] = str(self.version)
        entry["state"] = self.state.value
        if self.reason:
            entry["reason"] = self.reason
        return entry


def log_transition(
    model: str,
    version: int,
    old: VersionState,
    new: VersionState,
    reason: str = "",
    seconds: float | None = None,
) -> None:
    """One line per state change: model, version, old -> new, reason, load time."""
    parts = [f"model {model} version {version}: {old} -> {new}"]
    if seconds is not None:
        parts.append(f"in {seconds:.3f} s")
    if reason:
        parts.append(f"({reason})")
    level = (
        logging.WARNING if new is VersionState.UNAVAILABLE and reason != UNLOADED else logging.INFO
    )
    logger.log(level, " ".join(parts))
