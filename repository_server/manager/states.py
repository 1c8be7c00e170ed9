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
    *,
    copy: str = "",
    note: str = "",
) -> None:
    """One line per state change: model, version, old -> new, reason, load time.

    `copy` names which instance of the version changed ("new copy", "old copy") while another
    one serves it: a reload loads beside the serving copy, and the version itself stays READY.
    `note` follows the states (what that change means for the version).
    """
    label = f" ({copy})" if copy else ""
    parts = [f"model {model} version {version}{label}: {old} -> {new}"]
    if note:
        parts[0] += f"; {note}"
    if seconds is not None:
        parts.append(f"in {seconds:.3f} s")
    if reason:
        parts.append(f"({reason})")
    level = (
        logging.WARNING if new is VersionState.UNAVAILABLE and reason != UNLOADED else logging.INFO
    )
    logger.log(level, " ".join(parts))


def log_new_copy(model: str, version: int) -> None:
    """A READY version's files or config changed: a new copy loads beside the serving one."""
    logger.info(f"model {model} version {version}: loading a new copy beside the serving one")


def log_serving_on(model: str, version: int, why: str, *, expected: bool) -> None:
    """A version the policy would unload keeps serving (nothing it selects is READY yet).

    `expected`: the replacement is still being written (INFO); otherwise nothing selected could
    load, which the user should look at (WARNING).
    """
    logger.log(
        logging.INFO if expected else logging.WARNING, f"model {model} version {version}: {why}"
    )
