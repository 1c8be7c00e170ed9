"""Signatures of small made-up models for the codec tests (no runtime needed: the codec only
reads metadata)."""

from __future__ import annotations

from backends.base import ModelMetadata, TensorSpec
from repository_server.kserve import Signature


def signature(
    inputs: list[tuple[str, str, tuple[int, ...]]],
    outputs: list[tuple[str, str, tuple[int, ...]]] | None = None,
    max_batch_size: int = 0,
    name: str = "model",
) -> Signature:
    metadata = ModelMetadata(
        platform="onnxruntime_onnx",
        inputs=tuple(TensorSpec(*spec) for spec in inputs),
        outputs=tuple(TensorSpec(*spec) for spec in outputs or [("OUTPUT0", "FP32", (-1,))]),
    )
    return Signature.of(name, metadata, max_batch_size)


def simple() -> Signature:
    """Triton's `simple`-like model: two INT32 [-1,16] inputs, batching up to 8."""
    return signature(
        [("INPUT0", "INT32", (-1, 16)), ("INPUT1", "INT32", (-1, 16))],
        [("OUTPUT0", "INT32", (-1, 16)), ("OUTPUT1", "INT32", (-1, 16))],
        max_batch_size=8,
        name="simple",
    )


def one_input(datatype: str, shape: tuple[int, ...], max_batch_size: int = 0) -> Signature:
    return signature([("INPUT0", datatype, shape)], [("OUTPUT0", datatype, shape)], max_batch_size)
