"""Tensor contents in the two forms the Open Inference Protocol carries them: JSON `data` and raw
little-endian bytes (the binary tensor data extension).

Numeric conversions are bulk numpy operations; only BYTES, whose elements each carry their own
length, walks its elements in Python. Every failure raises `TensorDataError` with a message that
says what was wrong with the data; the caller adds which input it was.
"""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np

from backends.datatypes import NUMPY_DTYPES

_LENGTH = struct.Struct("<I")

# The dtype binary blocks are read and written with: little-endian whatever the host.
WIRE_DTYPES: dict[str, np.dtype] = {
    name: dtype.newbyteorder("<") for name, dtype in NUMPY_DTYPES.items() if name != "BYTES"
}


class TensorDataError(ValueError):
    """The data of one tensor does not fit its datatype or shape."""


def element_count(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def format_shape(shape: tuple[int, ...] | list[int]) -> str:
    """Triton's way of writing a shape: `[-1,4]`."""
    return "[" + ",".join(str(dim) for dim in shape) + "]"


# --- JSON -> numpy -------------------------------------------------------------------------


def from_json(data: Any, datatype: str, shape: tuple[int, ...]) -> np.ndarray:
    """The array of `shape` held by a JSON `data` value, flat or nested row-major."""
    array = from_nested(data, datatype)
    if array.shape == shape:
        return array
    if array.ndim == 1 and array.size == element_count(shape):
        return array.reshape(shape)
    raise TensorDataError(
        "Shape does not match true shape of 'data' field: shape "
        f"{format_shape(shape)} holds {element_count(shape)} elements, 'data' has "
        f"{_describe_layout(array)}"
    )


def from_nested(data: Any, datatype: str) -> np.ndarray:
    """The array a JSON array holds, shaped as it is nested."""
    if not isinstance(data, list):
        raise TensorDataError(f"expected a JSON array, got {_json_kind(data)}")
    if datatype == "BYTES":
        return _bytes_from_json(data)
    return _numbers_from_json(data, datatype)


def _describe_layout(array: np.ndarray) -> str:
    if array.ndim == 1:
        return f"{array.size} elements"
    return f"nested shape {format_shape(array.shape)}"


def _numbers_from_json(data: list[Any], datatype: str) -> np.ndarray:
    target = NUMPY_DTYPES[datatype]
    try:
        # Let numpy infer first so that a float in integer data or a number in boolean data is
        # refused instead of being silently truncated or coerced.
        raw = np.asarray(data)
    except ValueError as error:
        raise TensorDataError(_ragged_message(error)) from None
    if raw.size == 0:
        return raw.astype(target)
    kind = raw.dtype.kind
    if datatype == "BOOL":
        if kind != "b":
            raise TensorDataError("BOOL data must be JSON true/false values")
        return raw
    if target.kind == "f":
        if kind not in "iuf":
            raise TensorDataError(f"{datatype} data must be JSON numbers")
        return raw.astype(target)
    return _integers(data, raw, datatype, target)


def _integers(data: list[Any], raw: np.ndarray, datatype: str, target: np.dtype) -> np.ndarray:
    kind = raw.dtype.kind
    if kind in "iu":
        info = np.iinfo(target)
        low, high = raw.min(), raw.max()
        if low < info.min or high > info.max:
            bad = low if low < info.min else high
            raise TensorDataError(f"value {bad} is out of range for {datatype}")
        return raw.astype(target)
    if kind in "fO":
        # numpy infers float64 (or object) for integers beyond int64 mixed with others; convert
        # straight to the target and make sure nothing fractional or foreign was in the data.
        try:
            exact = np.asarray(data, dtype=target)
        except (OverflowError, TypeError, ValueError):
            raise TensorDataError(
                f"{datatype} data must be JSON integers within the range of {datatype}"
            ) from None
        if kind == "f" and not np.array_equal(exact.astype(np.float64), raw):
            raise TensorDataError(f"{datatype} data must be JSON integers, not fractions")
        return exact
    raise TensorDataError(f"{datatype} data must be JSON integers")


def _bytes_from_json(data: list[Any]) -> np.ndarray:
    try:
        nested = np.array(data, dtype=object)
    except ValueError as error:
        raise TensorDataError(_ragged_message(error)) from None
    flat = nested.reshape(-1)
    encoded = np.empty(flat.size, dtype=object)
    for index, element in enumerate(flat):
        if not isinstance(element, str):
            raise TensorDataError(f"BYTES data must be JSON strings, got {_json_kind(element)}")
        encoded[index] = element.encode()
    return encoded.reshape(nested.shape)


def _ragged_message(error: ValueError) -> str:
    return f"nested 'data' is not rectangular ({error})"


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "an object"
    return "an array"


# --- binary -> numpy -----------------------------------------------------------------------


def from_binary(block: memoryview, datatype: str, shape: tuple[int, ...]) -> np.ndarray:
    """The array of `shape` held by one binary block, without copying fixed-size data.

    The array shares memory with the request body: writable when the body is (a bytearray),
    read-only when it is `bytes`.
    """
    if datatype == "BYTES":
        return _bytes_from_binary(block, shape)
    dtype = WIRE_DTYPES[datatype]
    expected = element_count(shape) * dtype.itemsize
    if len(block) != expected:
        raise TensorDataError(
            f"shape {format_shape(shape)} of {datatype} needs {expected} bytes, "
            f"binary_data_size is {len(block)}"
        )
    array = np.frombuffer(block, dtype=dtype).reshape(shape)
    if datatype == "BOOL" and array.size and array.view(np.uint8).max() > 1:
        raise TensorDataError("BOOL binary data must hold only bytes 0 and 1")
    return array


def _bytes_from_binary(block: memoryview, shape: tuple[int, ...]) -> np.ndarray:
    count = element_count(shape)
    elements = np.empty(count, dtype=object)
    raw = bytes(block)
    offset = 0
    for index in range(count):
        if offset + 4 > len(raw):
            raise TensorDataError(
                f"BYTES binary data ends after {index} of {count} elements "
                f"(shape {format_shape(shape)})"
            )
        (length,) = _LENGTH.unpack_from(raw, offset)
        offset += 4
        if offset + length > len(raw):
            raise TensorDataError(
                f"BYTES element {index} declares {length} bytes but only {len(raw) - offset} remain"
            )
        elements[index] = raw[offset : offset + length]
        offset += length
    if offset != len(raw):
        raise TensorDataError(
            f"BYTES binary data holds {len(raw) - offset} bytes beyond the {count} elements "
            f"of shape {format_shape(shape)}"
        )
    return elements.reshape(shape)


# --- numpy -> wire -------------------------------------------------------------------------


def to_binary(array: np.ndarray) -> bytes | memoryview:
    """The binary block of an output: little-endian, row-major, no padding.

    Fixed-size data comes back as a memoryview over the array when it is already laid out that
    way, so joining it into the response body is the only copy.
    """
    if array.dtype.kind in "OSU":
        return serialize_bytes(array)
    if array.size == 0:
        return b""
    wire = array.dtype.newbyteorder("<")
    laid_out = np.ascontiguousarray(array, dtype=wire)
    return laid_out.data.cast("B")


def serialize_bytes(array: np.ndarray) -> bytes:
    """BYTES elements each as a 4-byte little-endian length followed by the bytes."""
    parts: list[bytes] = []
    for element in array.reshape(-1).tolist():
        raw = element.encode() if isinstance(element, str) else bytes(element)
        parts.append(_LENGTH.pack(len(raw)))
        parts.append(raw)
    return b"".join(parts)


def bytes_to_json(array: np.ndarray) -> list[str]:
    """BYTES elements as JSON strings (flat); raises when an element is not UTF-8 text."""
    texts: list[str] = []
    for element in array.reshape(-1).tolist():
        if isinstance(element, str):
            texts.append(element)
            continue
        try:
            texts.append(bytes(element).decode())
        except UnicodeDecodeError:
            raise TensorDataError(
                "holds bytes that are not UTF-8 text and cannot be sent as JSON"
            ) from None
    return texts


def numbers_to_json(array: np.ndarray) -> np.ndarray | list[Any]:
    """A flat view orjson serializes natively, or a flat list where it cannot."""
    flat = np.ascontiguousarray(array).reshape(-1)
    if flat.dtype.isnative:
        return flat
    return flat.tolist()
