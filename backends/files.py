"""Finding a version's model file and refusing the ones that cannot be a model at all."""

from __future__ import annotations

from pathlib import Path

from backends.base import ModelLoadError, ModelSpec


def model_file(version_dir: Path, spec: ModelSpec, candidates: tuple[str, ...]) -> Path:
    """The model file of `version_dir`: the config's `default_model_filename`, else the first of
    `candidates` present. Raises ModelLoadError when it is missing or empty."""
    names = (spec.default_model_filename,) if spec.default_model_filename else candidates
    for name in names:
        path = version_dir / name
        if path.is_file():
            if path.stat().st_size == 0:
                raise ModelLoadError(path, "the file is empty")
            return path
    wanted = " or ".join(names)
    raise ModelLoadError(version_dir, f"no model file: expected {wanted}")


def config_file(version_dir: Path) -> Path:
    """The model's config.json, named in errors about what the config lacks."""
    return version_dir.parent / "config.json"
