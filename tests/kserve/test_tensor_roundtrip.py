"""Every datatype through the codec: JSON and binary, both ways, flat and nested."""

from __future__ import annotations

import struct

import numpy as np
import orjson
import pytest
from tritonclient.http import InferenceServerClient

from repository_server.kserve import (
    HEADER_LENGTH,
    InferRequest,
    decode_infer_request,
    encode_infer_response,
)
from tests.kserve.signatures import one_input

SAMPLES: dict[str, np.ndarray] = {
    "BOOL": np.array([[True, False, True], [False, False, True]]),
    "UINT8": np.array([[0, 1, 255], [7, 8, 9]], dtype=np.uint8),
    "UINT16": np.array([[0, 1, 65535], [7, 8, 9]], dtype=np.uint16),
    "UINT32": np.array([[0, 1, 2**32 - 1], [7, 8, 9]], dtype=np.uint32),
    "UINT64": np.array([[0, 1, 2**64 - 1], [7, 8, 9]], dtype=np.uint64),
    "INT8": np.array([[-128, 0, 127], [7, -8, 9]], dtype=np.int8),
    "INT16": np.array([[-32768, 0, 32767], [7, -8, 9]], dtype=np.int16),
    "INT32": np.array([[-(2**31), 0, 2**31 - 1], [7, -8, 9]], dtype=np.int32),
    "INT64": np.array([[-(2**63), 0, 2**63 - 1], [7, -8, 9]], dtype=np.int64),
    "FP16": np.array([[0.5, -2.25, 65504.0], [0.0, 1.0, -1.0]], dtype=np.float16),
    "FP32": np.array([[0.1, -2.5, 3.4e38], [1e-30, 0.0, 7.0]], dtype=np.float32),
    "FP64": np.array([[0.1, -2.5, 1e300], [1e-300, 0.0, 7.0]], dtype=np.float64),
    "BYTES": np.array([[b"a", b"", "\u00fc\u20ac".encode()], [b"xyz", b"0", b" "]], dtype=object),
}


def json_data(array: np.ndarray) -> list:
    if array.dtype == object:
        return [[element.decode() for element in row] for row in array.tolist()]
    return array.tolist()


def json_request(datatype: str, data: list) -> bytes:
    return orjson.dumps(
        {"inputs": [{"name": "INPUT0", "datatype": datatype, "shape": [2, 3], "data": data}]}
    )


def assert_same(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.shape == expected.shape
    assert actual.dtype == expected.dtype
    assert actual.tolist() == expected.tolist()


def binary_block(array: np.ndarray) -> bytes:
    if array.dtype == object:
        return b"".join(struct.pack("<I", len(item)) + item for item in array.reshape(-1))
    return array.astype(array.dtype.newbyteorder("<")).tobytes()


@pytest.mark.parametrize("datatype", list(SAMPLES))
def test_nested_json_data_decodes_to_the_array(datatype: str) -> None:
    expected = SAMPLES[datatype]
    body = json_request(datatype, json_data(expected))
    request = decode_infer_request(one_input(datatype, (2, 3)), body, None)
    assert_same(request.inputs["INPUT0"], expected)


@pytest.mark.parametrize("datatype", list(SAMPLES))
def test_flat_json_data_decodes_to_the_array(datatype: str) -> None:
    expected = SAMPLES[datatype]
    flat = [item for row in json_data(expected) for item in row]
    request = decode_infer_request(one_input(datatype, (2, 3)), json_request(datatype, flat), None)
    assert_same(request.inputs["INPUT0"], expected)


@pytest.mark.parametrize("datatype", list(SAMPLES))
def test_binary_data_decodes_to_the_array(datatype: str) -> None:
    expected = SAMPLES[datatype]
    block = binary_block(expected)
    header = orjson.dumps(
        {
            "inputs": [
                {
                    "name": "INPUT0",
                    "datatype": datatype,
                    "shape": [2, 3],
                    "parameters": {"binary_data_size": len(block)},
                }
            ]
        }
    )
    request = decode_infer_request(one_input(datatype, (2, 3)), header + block, len(header))
    assert_same(request.inputs["INPUT0"], expected)


@pytest.mark.parametrize("binary", [False, True], ids=["json", "binary"])
@pytest.mark.parametrize("datatype", list(SAMPLES))
def test_outputs_parse_back_with_tritonclient(datatype: str, binary: bool) -> None:
    expected = SAMPLES[datatype]
    request = InferRequest(id="", inputs={}, binary_data_output=binary)
    body, headers = encode_infer_response("m", "1", request, {"OUTPUT0": expected})
    length = headers.get(HEADER_LENGTH)
    result = InferenceServerClient.parse_response_body(
        body, header_length=None if length is None else int(length)
    )
    parsed = result.as_numpy("OUTPUT0")
    output = result.get_output("OUTPUT0")
    assert output["datatype"] == datatype
    assert output["shape"] == [2, 3]
    if datatype == "BYTES" and not binary:
        # tritonclient hands JSON strings back as str.
        assert parsed.tolist() == [[item.decode() for item in row] for row in expected.tolist()]
    else:
        assert_same(parsed, expected)


def test_writable_body_gives_writable_zero_copy_arrays() -> None:
    block = np.arange(6, dtype=np.float32).tobytes()
    header = orjson.dumps(
        {
            "inputs": [
                {
                    "name": "INPUT0",
                    "datatype": "FP32",
                    "shape": [2, 3],
                    "parameters": {"binary_data_size": 24},
                }
            ]
        }
    )
    body = bytearray(header + block)
    array = decode_infer_request(one_input("FP32", (2, 3)), body, len(header)).inputs["INPUT0"]
    array[0, 0] = 42.0
    assert np.frombuffer(body, dtype=np.float32, offset=len(header))[0] == 42.0
    from_bytes = decode_infer_request(one_input("FP32", (2, 3)), bytes(body), len(header))
    assert not from_bytes.inputs["INPUT0"].flags.writeable


def test_empty_tensor_round_trips() -> None:
    signature = one_input("FP32", (-1, 3), max_batch_size=4)
    body = orjson.dumps(
        {"inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [0, 3], "data": []}]}
    )
    request = decode_infer_request(signature, body, None)
    assert request.inputs["INPUT0"].shape == (0, 3)
    assert request.batch_size == 0
    empty = {"OUTPUT0": np.zeros((0, 3), np.float32)}
    body, headers = encode_infer_response(
        "m", "1", InferRequest("", {}, binary_data_output=True), empty
    )
    # An empty binary buffer does not make the response binary, as in Triton.
    assert headers == {"Content-Type": "application/json"}
    parsed = InferenceServerClient.parse_response_body(body).as_numpy("OUTPUT0")
    assert parsed.shape == (0, 3)
