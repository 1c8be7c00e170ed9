"""tritonclient's own request encoder decoded by us, our responses parsed by tritonclient."""

from __future__ import annotations

import numpy as np
import pytest
from tritonclient.http import InferenceServerClient, InferInput, InferRequestedOutput

from repository_server.kserve import (
    HEADER_LENGTH,
    decode_infer_request,
    encode_infer_response,
    parse_header_length,
)
from tests.kserve.signatures import signature, simple


def decode(signature_, inputs, outputs=None, **options):
    body, json_length = InferenceServerClient.generate_request_body(inputs, outputs, **options)
    length = parse_header_length(None if json_length is None else str(json_length), len(body))
    return decode_infer_request(signature_, body, length)


def parse(body: bytes, headers: dict[str, str]):
    length = headers.get(HEADER_LENGTH)
    return InferenceServerClient.parse_response_body(
        body, header_length=None if length is None else int(length)
    )


@pytest.mark.parametrize("binary_in", [True, False], ids=["binary-in", "json-in"])
@pytest.mark.parametrize("binary_out", [True, False], ids=["binary-out", "json-out"])
def test_simple_model_round_trip(binary_in: bool, binary_out: bool) -> None:
    first = np.arange(32, dtype=np.int32).reshape(2, 16)
    second = np.ones((2, 16), dtype=np.int32)
    inputs = [InferInput("INPUT0", [2, 16], "INT32"), InferInput("INPUT1", [2, 16], "INT32")]
    inputs[0].set_data_from_numpy(first, binary_data=binary_in)
    inputs[1].set_data_from_numpy(second, binary_data=binary_in)
    outputs = [
        InferRequestedOutput("OUTPUT0", binary_data=binary_out),
        InferRequestedOutput("OUTPUT1", binary_data=binary_out),
    ]
    request = decode(simple(), inputs, outputs, request_id="42")
    assert request.id == "42"
    assert request.batch_size == 2
    assert request.outputs == {"OUTPUT0": binary_out, "OUTPUT1": binary_out}
    np.testing.assert_array_equal(request.inputs["INPUT0"], first)
    np.testing.assert_array_equal(request.inputs["INPUT1"], second)

    model_outputs = {
        "OUTPUT0": request.inputs["INPUT0"] + request.inputs["INPUT1"],
        "OUTPUT1": request.inputs["INPUT0"] - request.inputs["INPUT1"],
    }
    body, headers = encode_infer_response("simple", "1", request, model_outputs)
    assert headers["Content-Type"] == (
        "application/octet-stream" if binary_out else "application/json"
    )
    result = parse(body, headers)
    response = result.get_response()
    assert response["id"] == "42"
    assert response["model_name"] == "simple"
    assert response["model_version"] == "1"
    np.testing.assert_array_equal(result.as_numpy("OUTPUT0"), first + 1)
    np.testing.assert_array_equal(result.as_numpy("OUTPUT1"), first - 1)


def test_no_outputs_listed_means_all_outputs_binary() -> None:
    data = np.zeros((1, 16), dtype=np.int32)
    inputs = [InferInput("INPUT0", [1, 16], "INT32"), InferInput("INPUT1", [1, 16], "INT32")]
    for item in inputs:
        item.set_data_from_numpy(data)
    request = decode(simple(), inputs)
    # tritonclient adds binary_data_output: true when no outputs are listed.
    assert request.outputs == {}
    assert request.binary_data_output
    body, headers = encode_infer_response(
        "simple", "1", request, {"OUTPUT0": data, "OUTPUT1": data}
    )
    result = parse(body, headers)
    assert [output["name"] for output in result.get_response()["outputs"]] == ["OUTPUT0", "OUTPUT1"]
    assert all("binary_data_size" in o["parameters"] for o in result.get_response()["outputs"])
    np.testing.assert_array_equal(result.as_numpy("OUTPUT1"), data)


def test_bytes_and_fp16_and_bool_inputs_from_tritonclient() -> None:
    model = signature(
        [("TEXT", "BYTES", (-1,)), ("HALF", "FP16", (2,)), ("FLAG", "BOOL", (3,))],
        [("OUT", "BYTES", (-1,))],
    )
    text = np.array([b"ab", b"", "\u00e9".encode()], dtype=object)
    half = np.array([0.5, -1.25], dtype=np.float16)
    flag = np.array([True, False, True])
    for binary in (True, False):
        inputs = [
            InferInput("TEXT", [3], "BYTES"),
            InferInput("HALF", [2], "FP16"),
            InferInput("FLAG", [3], "BOOL"),
        ]
        inputs[0].set_data_from_numpy(text, binary_data=binary)
        inputs[1].set_data_from_numpy(half, binary_data=binary)
        inputs[2].set_data_from_numpy(flag, binary_data=binary)
        request = decode(model, inputs, [InferRequestedOutput("OUT", binary_data=binary)])
        assert request.inputs["TEXT"].tolist() == text.tolist()
        assert request.inputs["HALF"].dtype == np.float16
        np.testing.assert_array_equal(request.inputs["HALF"], half)
        np.testing.assert_array_equal(request.inputs["FLAG"], flag)
        result = parse(*encode_infer_response("m", "1", request, {"OUT": request.inputs["TEXT"]}))
        expected = text.tolist() if binary else [item.decode() for item in text]
        assert result.as_numpy("OUT").tolist() == expected


def test_classification_as_tritonclient_asks_for_it() -> None:
    model = signature([("INPUT0", "FP32", (-1, 4))], [("PROBS", "FP32", (-1, 4))], max_batch_size=4)
    inputs = [InferInput("INPUT0", [2, 4], "FP32")]
    inputs[0].set_data_from_numpy(np.zeros((2, 4), np.float32))
    request = decode(model, inputs, [InferRequestedOutput("PROBS", class_count=2)])
    probs = np.array([[0.1, 0.7, 0.05, 0.15], [0.4, 0.1, 0.4, 0.1]], np.float32)
    result = parse(*encode_infer_response("m", "1", request, {"PROBS": probs}))
    assert result.get_output("PROBS")["datatype"] == "BYTES"
    assert result.as_numpy("PROBS").tolist() == [
        [b"0.700000:1", b"0.150000:3"],
        [b"0.400000:0", b"0.400000:2"],
    ]


def test_classification_appends_the_label_file_s_line_for_the_index() -> None:
    model = signature([("INPUT0", "FP32", (-1, 4))], [("PROBS", "FP32", (-1, 4))], max_batch_size=4)
    inputs = [InferInput("INPUT0", [1, 4], "FP32")]
    inputs[0].set_data_from_numpy(np.zeros((1, 4), np.float32))
    request = decode(model, inputs, [InferRequestedOutput("PROBS", class_count=4)])
    probs = np.array([[0.1, 0.6, 0.2, 0.1]], np.float32)
    # Three labels for four classes: index 3 has no line, so it is shown without one.
    labels = {"PROBS": ("cat", "dog", "bird")}
    result = parse(*encode_infer_response("m", "1", request, {"PROBS": probs}, labels))
    assert result.as_numpy("PROBS").tolist() == [
        [b"0.600000:1:dog", b"0.200000:2:bird", b"0.100000:0:cat", b"0.100000:3"],
    ]
