"""Runs the server. Until the HTTP surfaces land it scans the repository and reports it."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from repository_server.errors import ConfigurationError
from repository_server.repository import RepositoryScanner
from repository_server.settings import Settings

logger = logging.getLogger(__name__)


def run(settings: Settings, given: Mapping[str, Any]) -> int:
    root = settings.model_repository
    if not root.is_dir():
        raise ConfigurationError(f"--model-repository: {str(root)!r} is not a folder")
    state = RepositoryScanner(root).scan()
    for model in state.models.values():
        if model.problem:
            logger.warning("model %s: UNAVAILABLE: %s", model.name, model.problem)
        else:
            logger.info(
                "model %s: backend %s, versions %s",
                model.name,
                model.backend,
                sorted(model.versions),
            )
    return 0
