"""Reconciling a model's own signature with the `input`/`output` its config.json names."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from backends.base import DYNAMIC, ModelLoadError, TensorSpec


def static_dims(shape: Iterable[object]) -> tuple[int, ...]:
    """A runtime's shape as ours: a named, symbolic or unknown dimension becomes -1."""
    return tuple(dim if isinstance(dim, int) and dim >= 0 else DYNAMIC for dim in shape)


def check_config_names(
    path: Path, kind: str, found: Sequence[TensorSpec], configured: Sequence[TensorSpec]
) -> None:
    """Each tensor config.json names must be one of the model's, with the same datatype and
    shape: the same rank, and no dimension fixed in both that differs.

    `kind` is `input` or `output`. The model's own signature stays the metadata; the config may
    name a subset (Triton lets it leave outputs out). Shapes include the batch dimension.
    """
    by_name = {spec.name: spec for spec in found}
    for spec in configured:
        actual = by_name.get(spec.name)
        if actual is None:
            names = ", ".join(repr(s.name) for s in found)
            raise ModelLoadError(
                path,
                f"config.json {kind} {spec.name!r} is not an {kind} of the model "
                f"(its {kind}s: {names})",
            )
        if actual.datatype != spec.datatype:
            raise ModelLoadError(
                path,
                f"config.json {kind} {spec.name!r} is {spec.datatype} but the model's is "
                f"{actual.datatype}",
            )
        if not _shapes_agree(spec.shape, actual.shape):
            raise ModelLoadError(
                path,
                f"config.json {kind} {spec.name!r} has shape {_shown(spec.shape)} but the "
                f"model's is {_shown(actual.shape)} (batch dimension included; -1: any size)",
            )


def _shapes_agree(configured: Sequence[int], actual: Sequence[int]) -> bool:
    if not actual:
        return True  # a runtime that does not know the rank (dynamic rank) cannot disagree
    if len(configured) != len(actual):
        return False
    return all(
        wanted == found or DYNAMIC in (wanted, found)
        for wanted, found in zip(configured, actual, strict=True)
    )


def _shown(shape: Sequence[int]) -> str:
    return "[" + ",".join(str(dim) for dim in shape) + "]"


def positional_names(
    path: Path, kind: str, count: int, configured: Sequence[TensorSpec], prefix: str
) -> list[str]:
    """Names for a format whose tensors are positional: config.json's names in order when it
    names them (then it must name all), else `<prefix>0`, `<prefix>1`, ..."""
    if not configured:
        return [f"{prefix}{index}" for index in range(count)]
    if len(configured) != count:
        raise ModelLoadError(
            path,
            f"the model has {count} {kind}(s) but config.json names {len(configured)} "
            f"({', '.join(repr(s.name) for s in configured)})",
        )
    return [spec.name for spec in configured]
