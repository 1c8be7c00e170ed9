"""Triton's raw binary request: `Inference-Header-Content-Length: 0` and the whole body is the
data of a single-input model's only input, batch 1, every output sent back binary."""

from __future__ import annotations

import numpy as np

from backends.base import DYNAMIC
from repository_server.errors import InvalidRequestError
from repository_server.kserve.signature import Signature
from repository_server.kserve.tensor_data import WIRE_DTYPES, format_shape


def decode_raw_request(
    signature: Signature, body: memoryview
) -> tuple[dict[str, np.ndarray], int | None]:
    """The single input's array and the batch size (None when the model does not batch)."""
    if len(signature.inputs) != 1:
        raise InvalidRequestError(
            "a raw binary request (Inference-Header-Content-Length: 0) needs a model with "
            f"exactly one input; model '{signature.model_name}' has {len(signature.inputs)}"
        )
    slot = next(iter(signature.inputs.values()))
    shape = list(slot.spec.shape)
    if signature.batched:
        shape[0] = 1
    dynamic = [position for position, dim in enumerate(shape) if dim == DYNAMIC]
    fixed_count = 1
    for dim in shape:
        if dim != DYNAMIC:
            fixed_count *= dim
    batch = 1 if signature.batched else None
    if slot.datatype == "BYTES":
        if dynamic or fixed_count != 1:
            raise InvalidRequestError(
                f"For BYTE datatype raw input '{slot.name}', the model must have input shape [1]"
            )
        element = np.empty(1, dtype=object)
        element[0] = bytes(body)
        return {slot.name: element.reshape(shape)}, batch
    if len(dynamic) > 1:
        raise InvalidRequestError(
            f"The shape of the raw input '{slot.name}' can not be deduced because there are "
            "more than one variable-sized dimension"
        )
    dtype = WIRE_DTYPES[slot.datatype]
    row_bytes = fixed_count * dtype.itemsize
    if dynamic and row_bytes and len(body) % row_bytes == 0:
        shape[dynamic[0]] = len(body) // row_bytes
    elif dynamic or len(body) != row_bytes:
        raise InvalidRequestError(
            f"raw input '{slot.name}' of {len(body)} bytes does not fit shape "
            f"{format_shape(shape)} of {slot.datatype} for model '{signature.model_name}'"
        )
    return {slot.name: np.frombuffer(body, dtype=dtype).reshape(shape)}, batch
