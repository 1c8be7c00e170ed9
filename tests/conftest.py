"""Fixtures shared by every test folder. Folder-specific fixtures live in that folder's conftest."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.repositories import Repository


@pytest.fixture
def repository(tmp_path: Path) -> Repository:
    """An empty model repository in a temporary folder (model sources kept beside it)."""
    root = tmp_path / "repository"
    root.mkdir()
    return Repository(root, tmp_path / "sources")


@pytest.fixture(autouse=True, scope="session")
def isolated_log_location(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Servers started by tests write config snapshots under LOG_LOCATION (default ./logs) and
    restore the newest at start: never the checkout's own, which would leak between runs."""
    os.environ["LOG_LOCATION"] = str(tmp_path_factory.mktemp("logs"))
