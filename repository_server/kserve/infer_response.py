"""Encoding a v2 inference response: a JSON header, then the binary blocks of binary outputs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson

from backends.datatypes import datatype_of
from repository_server.errors import InferenceFailedError, InvalidRequestError
from repository_server.kserve.classification import classify
from repository_server.kserve.infer_request import HEADER_LENGTH, InferRequest
from repository_server.kserve.tensor_data import (
    TensorDataError,
    bytes_to_json,
    numbers_to_json,
    to_binary,
)

JSON_TYPE = "application/json"
BINARY_TYPE = "application/octet-stream"


def encode_infer_response(
    model_name: str,
    model_version: str,
    request: InferRequest,
    outputs: Mapping[str, np.ndarray],
    labels: Mapping[str, tuple[str, ...]] | None = None,
) -> tuple[bytes, dict[str, str]]:
    """The response body and its headers, as Triton sends them.

    The outputs the request named, in its order, or every output the model gave. The body is
    `application/octet-stream` with `Inference-Header-Content-Length` as soon as one binary
    output has bytes; otherwise plain `application/json`. `labels`: the class labels of outputs
    with a label file, for Triton's `classification` parameter.
    """
    names = list(request.outputs) if request.outputs else list(outputs)
    entries: list[dict[str, Any]] = []
    blocks: list[bytes | memoryview] = []
    for name in names:
        array = outputs.get(name)
        if array is None:
            raise InferenceFailedError(f"model '{model_name}' produced no output '{name}'")
        count = request.classification.get(name)
        if count:
            names_of_classes = labels.get(name, ()) if labels else ()
            array = classify(name, array, count, request.batch_size is not None, names_of_classes)
        entry = _output_entry(name, array)
        if request.binary_for(name):
            block = to_binary(array)
            entry["parameters"] = {"binary_data_size": len(block)}
            if len(block):
                blocks.append(block)
        else:
            entry["data"] = _json_data(name, entry["datatype"], array)
        entries.append(entry)
    document: dict[str, Any] = {"model_name": model_name, "model_version": model_version}
    if request.id:
        document["id"] = request.id
    document["outputs"] = entries
    header = orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY)
    if not blocks:
        return header, {"Content-Type": JSON_TYPE}
    body = b"".join([header, *blocks])
    return body, {"Content-Type": BINARY_TYPE, HEADER_LENGTH: str(len(header))}


def _output_entry(name: str, array: np.ndarray) -> dict[str, Any]:
    try:
        datatype = datatype_of(array.dtype)
    except ValueError as error:
        raise InferenceFailedError(f"output '{name}': {error}") from None
    return {"name": name, "datatype": datatype, "shape": list(array.shape)}


def _json_data(name: str, datatype: str, array: np.ndarray) -> np.ndarray | list[Any]:
    if datatype != "BYTES":
        return numbers_to_json(array)
    try:
        return bytes_to_json(array)
    except TensorDataError as error:
        raise InvalidRequestError(
            f"output '{name}' {error}; request it with 'binary_data': true"
        ) from None
