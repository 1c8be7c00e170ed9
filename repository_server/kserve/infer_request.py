"""Decoding a v2 inference request body (JSON header plus optional binary blocks) into arrays."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from repository_server.errors import InvalidRequestError
from repository_server.kserve.raw_request import decode_raw_request
from repository_server.kserve.signature import InputSlot, Signature
from repository_server.kserve.tensor_data import (
    WIRE_DTYPES,
    TensorDataError,
    element_count,
    from_binary,
    from_json,
)

HEADER_LENGTH = "Inference-Header-Content-Length"

_NO_HEADER = (
    "must specify valid 'Infer-Header-Content-Length' in request header and "
    "'binary_data_size' when passing inputs in binary data format"
)
_ONE_CONTENT_FIELD = (
    "Input must set only one of the following fields: 'data', 'binary_data_size' in "
    "'parameters', 'shared_memory_region' in 'parameters'. But"
)


@dataclass
class InferRequest:
    """A decoded, validated inference request, ready for the scheduler."""

    id: str
    inputs: dict[str, np.ndarray]
    # The outputs the client named, in its order, each with whether it goes back binary
    # (its own `binary_data`, else the request's `binary_data_output`). Empty: all outputs.
    outputs: dict[str, bool] = field(default_factory=dict)
    # Requested outputs with Triton's `classification` parameter: name -> number of classes.
    classification: dict[str, int] = field(default_factory=dict)
    # Top-level `binary_data_output`: how outputs the client did not name are sent.
    binary_data_output: bool = False
    # Top-level `parameters` as sent (`timeout`, `priority`, custom keys, ...).
    parameters: dict[str, Any] = field(default_factory=dict)
    # The batch dimension shared by the inputs; None when the model does not batch.
    batch_size: int | None = None
    # `parameters.timeout` (microseconds), when the client set one.
    timeout_us: int | None = None

    def binary_for(self, output_name: str) -> bool:
        return self.outputs.get(output_name, self.binary_data_output)


def parse_header_length(headers_value: str | None, body_length: int) -> int | None:
    """The validated `Inference-Header-Content-Length`, or None when the header is absent."""
    if headers_value is None:
        return None
    text = headers_value.strip()
    if not text.isascii() or not text.lstrip("+-").isdigit():
        raise InvalidRequestError(f"Unable to parse {HEADER_LENGTH}, got: {headers_value}")
    value = int(text)
    if value < 0 or value > body_length:
        raise InvalidRequestError(
            f"inference header size should be in range (0, {body_length}), got: {headers_value}"
        )
    return value


def decode_infer_request(
    signature: Signature, body: bytes | bytearray | memoryview, json_length: int | None
) -> InferRequest:
    """Validates a request body against the model and returns its tensors.

    `json_length` is the parsed `Inference-Header-Content-Length`: None when the whole body is
    JSON, 0 for a raw binary request (single-input models), else the JSON header's length with
    the binary blocks after it. Arrays from binary blocks share the body's memory.
    """
    view = memoryview(body).cast("B")
    if json_length == 0:
        inputs, batch = decode_raw_request(signature, view)
        return InferRequest(id="", inputs=inputs, binary_data_output=True, batch_size=batch)
    header_given = json_length is not None
    if json_length is None:
        json_length = len(view)
    if json_length > len(view):
        raise InvalidRequestError(
            f"inference header size should be in range (0, {len(view)}), got: {json_length}"
        )
    header = _parse_json(view[:json_length], header_given)
    binary = view[json_length:] if json_length < len(view) else None
    request = InferRequest(id=_request_id(header), inputs={})
    _read_parameters(header, request)
    _read_inputs(signature, header, binary if header_given else None, header_given, request)
    _read_outputs(signature, header, request)
    return request


def _parse_json(text: memoryview, header_given: bool) -> dict[str, Any]:
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        hint = ""
        # Binary bytes where JSON was expected: the header that says where the JSON ends is
        # missing (trailing content after the JSON, or bytes that are not UTF-8 at all).
        if not header_given and any(
            sign in str(error) for sign in ("after document", "not valid UTF-8")
        ):
            hint = (
                f"; a body with binary tensor data needs the {HEADER_LENGTH} header "
                "(the length of its JSON part)"
            )
        raise InvalidRequestError(
            f"failed to parse the request JSON buffer: {error}{hint}"
        ) from None
    if not isinstance(document, dict):
        raise InvalidRequestError(
            "failed to parse the request JSON buffer: the request must be a JSON object"
        )
    return document


def _request_id(header: dict[str, Any]) -> str:
    value = header.get("id", "")
    if not isinstance(value, str):
        raise InvalidRequestError("Unable to parse 'id': it must be a JSON string")
    return value


def _read_parameters(header: dict[str, Any], request: InferRequest) -> None:
    parameters = header.get("parameters")
    if parameters is None:
        return
    if not isinstance(parameters, dict):
        raise InvalidRequestError("Unable to parse 'parameters': it must be a JSON object")
    for key, value in parameters.items():
        if key.startswith("triton_"):
            raise InvalidRequestError(
                "parameter keys starting with 'triton_' are reserved for Triton usage and "
                "should not be specified."
            )
        if key == "binary_data_output":
            request.binary_data_output = _boolean(value, "'binary_data_output'")
        elif key == "timeout":
            request.timeout_us = _unsigned(value, "'timeout'")
        elif key == "priority":
            _unsigned(value, "'priority'")
        elif not isinstance(value, (str, int, float, bool)):
            raise InvalidRequestError(
                f"parameter '{key}' has invalid type. It should be either 'int', 'bool', "
                "or 'string'."
            )
    request.parameters = parameters


def _read_inputs(
    signature: Signature,
    header: dict[str, Any],
    binary: memoryview | None,
    header_given: bool,
    request: InferRequest,
) -> None:
    entries = header.get("inputs")
    if not isinstance(entries, list):
        shown = "has no 'inputs'" if entries is None else "'inputs' is not a JSON array"
        raise InvalidRequestError(f"Unable to parse 'inputs': the request {shown}")
    offset = 0
    batch: int | None = None
    for entry in entries:
        if not isinstance(entry, dict):
            raise InvalidRequestError("Unable to parse 'inputs': each input must be a JSON object")
        name = _string(entry, "name", "inputs")
        if name in request.inputs:
            raise InvalidRequestError(f"input '{name}' already exists in request")
        slot = signature.input_slot(name)
        signature.check_datatype(slot, _string(entry, "datatype", f"input '{name}'"))
        shape = _shape(entry, name)
        this_batch = signature.check_shape(slot, shape)
        if batch is None:
            batch = this_batch
        elif this_batch != batch:
            raise InvalidRequestError(
                f"input '{name}' batch size does not match other inputs for "
                f"'{signature.model_name}'"
            )
        size = _binary_size(entry, name)
        if size is None:
            request.inputs[name] = _json_tensor(entry["data"], slot, shape)
            continue
        if size > 0 and not header_given:
            raise InvalidRequestError(_NO_HEADER)
        request.inputs[name] = _binary_tensor(signature, slot, shape, binary, offset, size)
        offset += size
    if binary is not None and offset != len(binary):
        raise InvalidRequestError(
            f"unexpected additional input data for model '{signature.model_name}'"
        )
    signature.check_all_inputs_given(request.inputs)
    request.batch_size = batch


def _shape(entry: dict[str, Any], name: str) -> tuple[int, ...]:
    shape = entry.get("shape")
    if not isinstance(shape, list) or not all(type(dim) is int and dim >= 0 for dim in shape):
        raise InvalidRequestError(
            f"Unable to parse 'shape' of input '{name}': it must be a JSON array of "
            f"non-negative integers, got {orjson.dumps(shape).decode()}"
        )
    return tuple(shape)


def _binary_size(entry: dict[str, Any], name: str) -> int | None:
    """`binary_data_size` when the input is binary, None when it carries `data`."""
    parameters = entry.get("parameters", {})
    if not isinstance(parameters, dict):
        raise InvalidRequestError(
            f"Unable to parse 'parameters' of input '{name}': it must be a JSON object"
        )
    fields = [
        label
        for label, present in (
            ("'data'", "data" in entry),
            ("'binary_data_size'", "binary_data_size" in parameters),
            ("'shared_memory_region'", "shared_memory_region" in parameters),
        )
        if present
    ]
    if len(fields) != 1:
        found = " set " + " ".join(fields) if fields else " no field is set"
        raise InvalidRequestError(f"{_ONE_CONTENT_FIELD}{found} (input '{name}')")
    if "shared_memory_region" in parameters:
        raise InvalidRequestError(
            f"input '{name}' uses 'shared_memory_region'; this server does not support "
            "shared memory, send 'data' or binary data instead"
        )
    if "data" in entry:
        return None
    return _unsigned(parameters["binary_data_size"], f"'binary_data_size' of input '{name}'")


def _json_tensor(data: Any, slot: InputSlot, shape: tuple[int, ...]) -> np.ndarray:
    try:
        return from_json(data, slot.datatype, shape)
    except TensorDataError as error:
        raise InvalidRequestError(
            f"Unable to parse 'data' of input '{slot.name}': {error}"
        ) from None


def _binary_tensor(
    signature: Signature,
    slot: InputSlot,
    shape: tuple[int, ...],
    binary: memoryview | None,
    offset: int,
    size: int,
) -> np.ndarray:
    available = 0 if binary is None else len(binary) - offset
    if size > available:
        raise InvalidRequestError(
            f"unexpected size for input '{slot.name}', expecting {size - available} "
            f"additional bytes for model '{signature.model_name}'"
        )
    if slot.datatype != "BYTES":
        expected = element_count(shape) * WIRE_DTYPES[slot.datatype].itemsize
        if size != expected:
            raise InvalidRequestError(
                f"input byte size mismatch for input '{slot.name}' for model "
                f"'{signature.model_name}'. Expected {expected}, got {size}"
            )
    block = memoryview(b"") if binary is None else binary[offset : offset + size]
    try:
        return from_binary(block, slot.datatype, shape)
    except TensorDataError as error:
        raise InvalidRequestError(
            f"Unable to parse binary data of input '{slot.name}': {error}"
        ) from None


def _read_outputs(signature: Signature, header: dict[str, Any], request: InferRequest) -> None:
    entries = header.get("outputs")
    if entries is None:
        return
    if not isinstance(entries, list):
        raise InvalidRequestError("Unable to parse 'outputs': it must be a JSON array")
    for entry in entries:
        if not isinstance(entry, dict):
            raise InvalidRequestError(
                "Unable to parse 'outputs': each output must be a JSON object"
            )
        name = _string(entry, "name", "outputs")
        signature.output_spec(name)
        if name in request.outputs:
            raise InvalidRequestError(f"output '{name}' is requested more than once")
        parameters = entry.get("parameters", {})
        if not isinstance(parameters, dict):
            raise InvalidRequestError(
                f"Unable to parse 'parameters' of output '{name}': it must be a JSON object"
            )
        if "shared_memory_region" in parameters:
            raise InvalidRequestError(
                f"output '{name}' uses 'shared_memory_region'; this server does not support "
                "shared memory"
            )
        binary = request.binary_data_output
        if "binary_data" in parameters:
            binary = _boolean(parameters["binary_data"], f"'binary_data' of output '{name}'")
        request.outputs[name] = binary
        if "classification" in parameters:
            count = _unsigned(parameters["classification"], f"'classification' of output '{name}'")
            if count > 0:
                request.classification[name] = count


def _string(entry: dict[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str):
        shown = "missing" if value is None else "not a JSON string"
        raise InvalidRequestError(f"Unable to parse '{key}' in {where}: it is {shown}")
    return value


def _boolean(value: Any, label: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidRequestError(f"Unable to parse {label}: it must be true or false")
    return value


def _unsigned(value: Any, label: str) -> int:
    if type(value) is not int or value < 0:
        raise InvalidRequestError(f"Unable to parse {label}: it must be a non-negative integer")
    return value
