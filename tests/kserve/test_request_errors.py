"""Every bad request is a 400 whose message names the problem (Triton's words where it has them)."""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
import pytest

from repository_server.errors import InvalidRequestError
from repository_server.kserve import decode_infer_request, parse_header_length
from tests.kserve.signatures import one_input, simple

ROW = list(range(16))
NOTE = (
    "NOTE: Setting a non-zero max_batch_size in the model config requires a batch dimension to "
    "be prepended to each input shape. If you want to specify the full shape including the "
    "batch dim in your input dims config, try setting max_batch_size to zero. See the model "
    "configuration docs for more info on max_batch_size."
)


def tensor(name: str = "INPUT0", shape: list[int] | None = None, **fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": name, "datatype": "INT32", "shape": shape or [1, 16]}
    entry.update(fields)
    if "data" not in fields and "parameters" not in fields:
        entry["data"] = ROW * (entry["shape"][0] if entry["shape"] else 1)
    return entry


def rejects(document: Any, json_length: int | None = None, binary: bytes = b"") -> str:
    body = document if isinstance(document, bytes) else orjson.dumps(document)
    if binary:
        json_length = len(body)
    with pytest.raises(InvalidRequestError) as caught:
        decode_infer_request(simple(), body + binary, json_length)
    assert caught.value.status == 400
    return caught.value.message


def two(**overrides: Any) -> dict[str, Any]:
    return {"inputs": [tensor("INPUT0"), tensor("INPUT1")], **overrides}


def test_malformed_json() -> None:
    assert rejects(b'{"inputs": [').startswith("failed to parse the request JSON buffer: ")


def test_body_that_is_not_a_json_object() -> None:
    assert rejects(b"[1, 2]") == (
        "failed to parse the request JSON buffer: the request must be a JSON object"
    )


def test_missing_inputs() -> None:
    assert rejects({"outputs": []}) == "Unable to parse 'inputs': the request has no 'inputs'"


def test_inputs_not_an_array() -> None:
    assert rejects({"inputs": {"INPUT0": 1}}) == (
        "Unable to parse 'inputs': the request 'inputs' is not a JSON array"
    )


def test_unknown_input() -> None:
    message = rejects({"inputs": [tensor("INPUT0"), tensor("INPUT1"), tensor("INPUT9")]})
    assert message == "unexpected inference input 'INPUT9' for model 'simple'"


def test_missing_required_input() -> None:
    assert rejects({"inputs": [tensor("INPUT0")]}) == (
        "expected 2 inputs but got 1 inputs for model 'simple'. Got input(s) ['INPUT0'], but "
        "missing required input(s) ['INPUT1']. Please provide all required input(s)."
    )


def test_no_inputs_at_all() -> None:
    assert rejects({"inputs": []}) == (
        "expected 2 inputs but got 0 inputs for model 'simple'. Got input(s) [], but "
        "missing required input(s) ['INPUT0','INPUT1']. Please provide all required input(s)."
    )


def test_duplicate_input() -> None:
    message = rejects({"inputs": [tensor("INPUT0"), tensor("INPUT0"), tensor("INPUT1")]})
    assert message == "input 'INPUT0' already exists in request"


def test_input_without_name() -> None:
    assert rejects({"inputs": [{"datatype": "INT32", "shape": [1], "data": [1]}]}) == (
        "Unable to parse 'name' in inputs: it is missing"
    )


def test_wrong_datatype() -> None:
    message = rejects({"inputs": [tensor("INPUT0", datatype="FP32"), tensor("INPUT1")]})
    assert (
        message
        == "inference input 'INPUT0' data-type is 'FP32', but model 'simple' expects 'INT32'"
    )


def test_unknown_datatype() -> None:
    message = rejects({"inputs": [tensor("INPUT0", datatype="FLOAT"), tensor("INPUT1")]})
    assert message == (
        "inference input 'INPUT0' has unknown datatype 'FLOAT'; expected 'INT32' for model 'simple'"
    )


def test_shape_not_matching_the_model() -> None:
    message = rejects({"inputs": [tensor("INPUT0", [1, 8], data=ROW[:8]), tensor("INPUT1")]})
    assert message == (
        "unexpected shape for input 'INPUT0' for model 'simple'. Expected [-1,16], got [1,8]. "
        + NOTE
    )


def test_shape_without_batch_dimension() -> None:
    message = rejects({"inputs": [tensor("INPUT0", [16], data=ROW), tensor("INPUT1")]})
    assert message.startswith(
        "unexpected shape for input 'INPUT0' for model 'simple'. Expected [-1,16], got [16]."
    )


def test_unbatched_model_shape_message_has_no_batch_note() -> None:
    signature = one_input("FP32", (2, 2))
    body = orjson.dumps(
        {"inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [4], "data": [1, 2, 3, 4]}]}
    )
    with pytest.raises(InvalidRequestError) as caught:
        decode_infer_request(signature, body, None)
    assert caught.value.message == (
        "unexpected shape for input 'INPUT0' for model 'model'. Expected [2,2], got [4]."
    )


def test_batch_larger_than_max_batch_size() -> None:
    message = rejects({"inputs": [tensor("INPUT0", [9, 16]), tensor("INPUT1", [9, 16])]})
    assert message == "inference request batch-size must be <= 8 for 'simple'"


def test_batch_sizes_differing_between_inputs() -> None:
    message = rejects({"inputs": [tensor("INPUT0", [1, 16]), tensor("INPUT1", [2, 16])]})
    assert message == "input 'INPUT1' batch size does not match other inputs for 'simple'"


@pytest.mark.parametrize(
    "shape", [[1, "16"], [1, -16], [1, 16.0], [1, True], "1x16", None], ids=repr
)
def test_unparsable_shape(shape: Any) -> None:
    message = rejects(
        {"inputs": [{"name": "INPUT0", "datatype": "INT32", "shape": shape, "data": ROW}]}
    )
    assert message.startswith(
        "Unable to parse 'shape' of input 'INPUT0': it must be a JSON array of non-negative integers"
    )


def test_data_length_not_matching_shape() -> None:
    message = rejects({"inputs": [tensor("INPUT0", data=ROW[:15]), tensor("INPUT1")]})
    assert message == (
        "Unable to parse 'data' of input 'INPUT0': Shape does not match true shape of 'data' "
        "field: shape [1,16] holds 16 elements, 'data' has 15 elements"
    )


def test_nested_data_not_matching_shape() -> None:
    message = rejects({"inputs": [tensor("INPUT0", data=[ROW[:8], ROW[8:]]), tensor("INPUT1")]})
    assert message == (
        "Unable to parse 'data' of input 'INPUT0': Shape does not match true shape of 'data' "
        "field: shape [1,16] holds 16 elements, 'data' has nested shape [2,8]"
    )


def test_ragged_nested_data() -> None:
    message = rejects({"inputs": [tensor("INPUT0", data=[ROW[:9], ROW[9:]]), tensor("INPUT1")]})
    assert message.startswith(
        "Unable to parse 'data' of input 'INPUT0': nested 'data' is not rectangular"
    )


def test_data_that_is_not_an_array() -> None:
    message = rejects({"inputs": [tensor("INPUT0", data=5), tensor("INPUT1")]})
    assert (
        message == "Unable to parse 'data' of input 'INPUT0': expected a JSON array, got a number"
    )


@pytest.mark.parametrize(
    ("datatype", "data", "expected"),
    [
        ("INT32", [1.5], "INT32 data must be JSON integers, not fractions"),
        ("INT32", ["1"], "INT32 data must be JSON integers"),
        ("INT32", [None], "INT32 data must be JSON integers within the range of INT32"),
        ("INT8", [128], "value 128 is out of range for INT8"),
        ("UINT8", [-1], "value -1 is out of range for UINT8"),
        ("UINT64", [2.0**64], "UINT64 data must be JSON integers within the range of UINT64"),
        ("UINT64", [1.5, 2**64 - 1], "UINT64 data must be JSON integers, not fractions"),
        ("FP32", [True], "FP32 data must be JSON numbers"),
        ("FP32", ["0.5"], "FP32 data must be JSON numbers"),
        ("FP32", [None], "FP32 data must be JSON numbers"),
        ("BOOL", [1], "BOOL data must be JSON true/false values"),
        ("BYTES", [1], "BYTES data must be JSON strings, got a number"),
        ("BYTES", [None], "BYTES data must be JSON strings, got null"),
    ],
)
def test_data_of_the_wrong_json_kind(datatype: str, data: list[Any], expected: str) -> None:
    body = orjson.dumps(
        {"inputs": [{"name": "INPUT0", "datatype": datatype, "shape": [1], "data": data}]}
    )
    with pytest.raises(InvalidRequestError) as caught:
        decode_infer_request(one_input(datatype, (1,)), body, None)
    assert caught.value.message == f"Unable to parse 'data' of input 'INPUT0': {expected}"


def binary_input(name: str, size: int, shape: list[int] | None = None) -> dict[str, Any]:
    return tensor(name, shape, parameters={"binary_data_size": size})


def test_binary_size_not_matching_shape() -> None:
    message = rejects(
        {"inputs": [binary_input("INPUT0", 32), binary_input("INPUT1", 64)]}, binary=bytes(96)
    )
    assert message == (
        "input byte size mismatch for input 'INPUT0' for model 'simple'. Expected 64, got 32"
    )


def test_binary_sizes_beyond_the_body() -> None:
    message = rejects(
        {"inputs": [binary_input("INPUT0", 64), binary_input("INPUT1", 64)]}, binary=bytes(100)
    )
    assert message == (
        "unexpected size for input 'INPUT1', expecting 28 additional bytes for model 'simple'"
    )


def test_binary_bytes_left_over() -> None:
    message = rejects(
        {"inputs": [binary_input("INPUT0", 64), binary_input("INPUT1", 64)]}, binary=bytes(130)
    )
    assert message == "unexpected additional input data for model 'simple'"


def test_bytes_after_an_all_json_header() -> None:
    assert rejects(two(), binary=b"xx") == "unexpected additional input data for model 'simple'"


def test_binary_input_without_header_length() -> None:
    header = orjson.dumps({"inputs": [binary_input("INPUT0", 64), binary_input("INPUT1", 64)]})
    with pytest.raises(InvalidRequestError) as caught:
        decode_infer_request(simple(), header + bytes(128), None)
    assert caught.value.message.startswith("failed to parse the request JSON buffer: ")
    hint = (
        "; a body with binary tensor data needs the Inference-Header-Content-Length header "
        "(the length of its JSON part)"
    )
    assert caught.value.message.endswith(hint)
    # Raw bytes that are not even UTF-8: the same hint, not only the decoding error.
    with pytest.raises(InvalidRequestError) as caught:
        decode_infer_request(simple(), b"\xff\xfe\x00\x01" * 8, None)
    assert caught.value.message.endswith(hint)


@pytest.mark.parametrize("where", ["input", "output"])
def test_tensor_parameters_must_be_an_object(where: str) -> None:
    entry: dict[str, Any] = {"name": "INPUT0" if where == "input" else "OUTPUT0", "parameters": []}
    body = {"inputs": [tensor("INPUT0"), tensor("INPUT1")]}
    if where == "input":
        body["inputs"][0] = {**tensor("INPUT0"), "parameters": []}
    else:
        body["outputs"] = [entry]
    message = rejects(body)
    assert message == (
        f"Unable to parse 'parameters' of {where} '{entry['name']}': it must be a JSON object"
    )


def test_binary_input_with_header_but_no_bytes() -> None:
    message = rejects({"inputs": [binary_input("INPUT0", 64), tensor("INPUT1")]}, json_length=None)
    assert message == (
        "must specify valid 'Infer-Header-Content-Length' in request header and "
        "'binary_data_size' when passing inputs in binary data format"
    )
    header = orjson.dumps({"inputs": [binary_input("INPUT0", 64), tensor("INPUT1")]})
    with pytest.raises(InvalidRequestError) as caught:
        decode_infer_request(simple(), header, len(header))
    assert caught.value.message == (
        "unexpected size for input 'INPUT0', expecting 64 additional bytes for model 'simple'"
    )


def test_data_and_binary_size_both_set() -> None:
    entry = tensor("INPUT0", data=ROW, parameters={"binary_data_size": 64})
    assert rejects({"inputs": [entry, tensor("INPUT1")]}) == (
        "Input must set only one of the following fields: 'data', 'binary_data_size' in "
        "'parameters', 'shared_memory_region' in 'parameters'. But set 'data' "
        "'binary_data_size' (input 'INPUT0')"
    )


def test_neither_data_nor_binary_size() -> None:
    entry = {"name": "INPUT0", "datatype": "INT32", "shape": [1, 16]}
    assert rejects({"inputs": [entry, tensor("INPUT1")]}) == (
        "Input must set only one of the following fields: 'data', 'binary_data_size' in "
        "'parameters', 'shared_memory_region' in 'parameters'. But no field is set (input 'INPUT0')"
    )


def test_shared_memory_is_refused() -> None:
    entry = tensor(
        "INPUT0", parameters={"shared_memory_region": "r", "shared_memory_byte_size": 64}
    )
    assert rejects({"inputs": [entry, tensor("INPUT1")]}).startswith(
        "input 'INPUT0' uses 'shared_memory_region'; this server does not support shared memory"
    )


def test_bad_binary_data_size() -> None:
    entry = tensor("INPUT0", parameters={"binary_data_size": "64"})
    assert rejects({"inputs": [entry, tensor("INPUT1")]}) == (
        "Unable to parse 'binary_data_size' of input 'INPUT0': it must be a non-negative integer"
    )


def test_unknown_requested_output() -> None:
    message = rejects(two(outputs=[{"name": "OUTPUT0"}, {"name": "OUT9"}]))
    assert message == "unexpected inference output 'OUT9' for model 'simple'"


def test_output_requested_twice() -> None:
    message = rejects(two(outputs=[{"name": "OUTPUT0"}, {"name": "OUTPUT0"}]))
    assert message == "output 'OUTPUT0' is requested more than once"


def test_bad_binary_data_flag() -> None:
    message = rejects(two(outputs=[{"name": "OUTPUT0", "parameters": {"binary_data": 1}}]))
    assert message == "Unable to parse 'binary_data' of output 'OUTPUT0': it must be true or false"


def test_bad_classification_count() -> None:
    message = rejects(two(outputs=[{"name": "OUTPUT0", "parameters": {"classification": -1}}]))
    assert message == (
        "Unable to parse 'classification' of output 'OUTPUT0': it must be a non-negative integer"
    )


def test_bad_binary_data_output() -> None:
    message = rejects(two(parameters={"binary_data_output": "yes"}))
    assert message == "Unable to parse 'binary_data_output': it must be true or false"


def test_reserved_parameter_prefix() -> None:
    assert rejects(two(parameters={"triton_enable_empty_final_response": True})) == (
        "parameter keys starting with 'triton_' are reserved for Triton usage and should not "
        "be specified."
    )


def test_parameter_of_unsupported_type() -> None:
    assert rejects(two(parameters={"custom": [1]})) == (
        "parameter 'custom' has invalid type. It should be either 'int', 'bool', or 'string'."
    )


def test_request_id_not_a_string() -> None:
    assert rejects(two(id=42)) == "Unable to parse 'id': it must be a JSON string"


def test_bytes_binary_element_overrunning_the_block() -> None:
    block = b"\x05\x00\x00\x00ab"
    header = orjson.dumps(
        {
            "inputs": [
                {
                    "name": "INPUT0",
                    "datatype": "BYTES",
                    "shape": [1],
                    "parameters": {"binary_data_size": len(block)},
                }
            ]
        }
    )
    with pytest.raises(InvalidRequestError) as caught:
        decode_infer_request(one_input("BYTES", (1,)), header + block, len(header))
    assert caught.value.message == (
        "Unable to parse binary data of input 'INPUT0': BYTES element 0 declares 5 bytes but "
        "only 2 remain"
    )


def test_bytes_binary_with_fewer_elements_than_the_shape() -> None:
    block = b"\x01\x00\x00\x00a"
    header = orjson.dumps(
        {
            "inputs": [
                {
                    "name": "INPUT0",
                    "datatype": "BYTES",
                    "shape": [2],
                    "parameters": {"binary_data_size": len(block)},
                }
            ]
        }
    )
    with pytest.raises(InvalidRequestError) as caught:
        decode_infer_request(one_input("BYTES", (2,)), header + block, len(header))
    assert caught.value.message == (
        "Unable to parse binary data of input 'INPUT0': BYTES binary data ends after 1 of 2 "
        "elements (shape [2])"
    )


def test_bool_binary_with_bytes_other_than_zero_and_one() -> None:
    header = orjson.dumps(
        {
            "inputs": [
                {
                    "name": "INPUT0",
                    "datatype": "BOOL",
                    "shape": [2],
                    "parameters": {"binary_data_size": 2},
                }
            ]
        }
    )
    with pytest.raises(InvalidRequestError) as caught:
        decode_infer_request(one_input("BOOL", (2,)), header + b"\x01\x02", len(header))
    assert caught.value.message == (
        "Unable to parse binary data of input 'INPUT0': BOOL binary data must hold only bytes 0 and 1"
    )


def test_raw_binary_request_needs_a_single_input_model() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        decode_infer_request(simple(), bytes(64), 0)
    assert caught.value.message == (
        "a raw binary request (Inference-Header-Content-Length: 0) needs a model with exactly "
        "one input; model 'simple' has 2"
    )


def test_raw_binary_request_of_the_wrong_size() -> None:
    with pytest.raises(InvalidRequestError) as caught:
        decode_infer_request(one_input("FP32", (2, 2)), bytes(12), 0)
    assert caught.value.message == (
        "raw input 'INPUT0' of 12 bytes does not fit shape [2,2] of FP32 for model 'model'"
    )


def test_raw_binary_request_fills_the_dynamic_dimension() -> None:
    data = np.arange(6, dtype=np.float32)
    request = decode_infer_request(one_input("FP32", (-1, -1, 3), 4), data.tobytes(), 0)
    assert request.inputs["INPUT0"].tolist() == [[[0, 1, 2], [3, 4, 5]]]
    assert request.batch_size == 1
    assert request.binary_for("OUTPUT0")


@pytest.mark.parametrize(
    ("value", "body_length", "expected"),
    [
        ("abc", 10, "Unable to parse Inference-Header-Content-Length, got: abc"),
        ("", 10, "Unable to parse Inference-Header-Content-Length, got: "),
        ("1.5", 10, "Unable to parse Inference-Header-Content-Length, got: 1.5"),
        ("11", 10, "inference header size should be in range (0, 10), got: 11"),
        ("-1", 10, "inference header size should be in range (0, 10), got: -1"),
    ],
)
def test_bad_header_length(value: str, body_length: int, expected: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_header_length(value, body_length)
    assert caught.value.message == expected


def test_header_length_values() -> None:
    assert parse_header_length(None, 10) is None
    assert parse_header_length("0", 10) == 0
    assert parse_header_length(" 10 ", 10) == 10
