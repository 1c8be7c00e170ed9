"""Fixtures shared by every test folder. Folder-specific fixtures live in that folder's conftest."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.repositories import Repository


@pytest.fixture
def repository(tmp_path: Path) -> Repository:
    """An empty model repository in a temporary folder (model sources kept beside it)."""
    root = tmp_path / "repository"
    root.mkdir()
    return Repository(root, tmp_path / "sources")
