"""Builders of real repository trees on disk for the scanner tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


class TreeBuilder:
    """Writes `<root>/<model>/...` folders; model files are placeholder bytes (never read)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def version(self, model: str, folder: str, files: dict[str, bytes] | None = None) -> Path:
        path = self.root / model / folder
        path.mkdir(parents=True, exist_ok=True)
        for name, content in (files or {"model.onnx": b"onnx"}).items():
            (path / name).parent.mkdir(parents=True, exist_ok=True)
            (path / name).write_bytes(content)
        return path

    def config(self, model: str, document: dict[str, Any] | str) -> Path:
        path = self.root / model / "config.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(document if isinstance(document, str) else json.dumps(document))
        return path


@pytest.fixture
def tree(tmp_path: Path) -> TreeBuilder:
    root = tmp_path / "repository"
    root.mkdir()
    return TreeBuilder(root)
