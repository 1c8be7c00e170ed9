"""BYTES tensors (object arrays of `bytes`) to and from runtimes that take Python `str`."""

from __future__ import annotations

import numpy as np

from backends.base import InferenceInputError

_decode = np.frompyfunc(lambda item: item.decode() if isinstance(item, bytes) else item, 1, 1)
_encode = np.frompyfunc(lambda item: item.encode() if isinstance(item, str) else item, 1, 1)


def to_str(name: str, array: np.ndarray) -> np.ndarray:
    """An object array of UTF-8 `bytes` as one of `str`; other bytes are a client error."""
    try:
        return np.asarray(_decode(array), dtype=object)
    except UnicodeDecodeError as error:
        raise InferenceInputError(
            f"input {name!r}: this runtime takes BYTES only as UTF-8 text: {error}"
        ) from None


def to_bytes(array: np.ndarray) -> np.ndarray:
    """A runtime's string array as an object array of UTF-8 `bytes`."""
    return np.asarray(_encode(array), dtype=object)
