"""Model repositories in temporary folders, changed with real copies, renames and deletes."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tests import models


class Repository:
    """A model repository in a temporary folder, written with real files."""

    def __init__(self, root: Path, sources: Path) -> None:
        self.root = root
        self.sources = sources

    def source(self, addend: float) -> Path:
        return models.add_model(self.sources / f"add_{addend}" / "model.onnx", addend)

    def add_version(self, model: str, version: int, addend: float | None = None) -> Path:
        """Publishes version `version` whose output is INPUT0 + addend (default: the version)."""
        value = float(version if addend is None else addend)
        return models.publish_version(self.root / model, version, self.source(value))

    def remove_version(self, model: str, version: int) -> None:
        shutil.rmtree(self.root / model / str(version))

    def remove_model(self, model: str) -> None:
        shutil.rmtree(self.root / model)

    def rewrite_version(self, model: str, version: int, addend: float) -> None:
        target = self.root / model / str(version) / "model.onnx"
        temporary = target.with_name(".model.onnx.tmp")
        shutil.copy(self.source(addend), temporary)
        temporary.replace(target)

    def break_version(self, model: str, version: int) -> Path:
        folder = self.root / model / str(version)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "model.onnx").write_bytes(b"this is not an onnx model")
        return folder

    def config(self, model: str, **document: Any) -> None:
        models.write_config(self.root / model, models.add_model_config(**document))
