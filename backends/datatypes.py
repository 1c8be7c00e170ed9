"""The tensor datatypes of the Open Inference Protocol, Triton's config types and numpy dtypes."""

from __future__ import annotations

import numpy as np

# KServe v2 datatype -> numpy dtype. BYTES tensors are numpy object arrays of `bytes`.
NUMPY_DTYPES: dict[str, np.dtype] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    "BYTES": np.dtype(np.object_),
}

DATATYPES: frozenset[str] = frozenset(NUMPY_DTYPES)

_DATATYPE_BY_KIND: dict[str, str] = {
    dtype.str.lstrip("<>|="): name for name, dtype in NUMPY_DTYPES.items() if name != "BYTES"
}

# Triton's model config spells datatypes TYPE_*; BYTES is TYPE_STRING.
CONFIG_TYPES: dict[str, str] = {
    **{f"TYPE_{name}": name for name in NUMPY_DTYPES if name != "BYTES"},
    "TYPE_STRING": "BYTES",
}
CONFIG_TYPE_OF: dict[str, str] = {datatype: config for config, datatype in CONFIG_TYPES.items()}


def datatype_of(dtype: np.dtype) -> str:
    """The KServe datatype of a numpy dtype; object and string dtypes map to BYTES."""
    if dtype.kind in "OSU":
        return "BYTES"
    try:
        return _DATATYPE_BY_KIND[dtype.str.lstrip("<>|=")]
    except KeyError:
        raise ValueError(f"numpy dtype {dtype} has no KServe datatype") from None


def numpy_dtype(datatype: str) -> np.dtype:
    """The numpy dtype of a KServe datatype (raises KeyError for an unknown one)."""
    return NUMPY_DTYPES[datatype]


def from_config_type(config_type: str) -> str:
    """`TYPE_FP32` -> `FP32`; `TYPE_STRING` -> `BYTES`."""
    return CONFIG_TYPES[config_type]


def to_config_type(datatype: str) -> str:
    """`FP32` -> `TYPE_FP32`; `BYTES` -> `TYPE_STRING`."""
    return CONFIG_TYPE_OF[datatype]
