"""TorchServe /predictions bodies."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from repository_server.errors import InvalidRequestError
from repository_server.kserve import decode_predictions_body, encode_predictions_response
from tests.kserve.signatures import one_input, signature, simple

ROW = list(range(16))


def test_bare_nested_list_for_a_single_input_model() -> None:
    inputs = decode_predictions_body(
        one_input("FP32", (-1, 3), 8), b"[[1, 2, 3], [4, 5, 6]]", "application/json"
    )
    assert inputs["INPUT0"].dtype == np.float32
    assert inputs["INPUT0"].tolist() == [[1, 2, 3], [4, 5, 6]]
    assert not inputs.added_batch_dim


def test_row_without_batch_dimension_gets_one_and_loses_it_in_the_response() -> None:
    inputs = decode_predictions_body(one_input("FP32", (-1, 3), 8), b"[1, 2, 3]", None)
    assert inputs["INPUT0"].shape == (1, 3)
    assert inputs.added_batch_dim
    body = encode_predictions_response(
        {"OUTPUT0": np.array([[0.5, 1.5]], np.float32)}, inputs.added_batch_dim
    )
    assert orjson.loads(body) == [0.5, 1.5]


def test_object_of_inputs_for_a_multi_input_model() -> None:
    body = orjson.dumps({"INPUT0": [ROW], "INPUT1": ROW})
    inputs = decode_predictions_body(simple(), body, "application/json; charset=utf-8")
    assert inputs["INPUT0"].shape == inputs["INPUT1"].shape == (1, 16)
    assert inputs["INPUT1"].dtype == np.int32


def test_form_encoded_content_type_from_curl_is_still_read_as_json() -> None:
    inputs = decode_predictions_body(
        one_input("INT64", (2,)), b"[1, 2]", "application/x-www-form-urlencoded"
    )
    assert inputs["INPUT0"].tolist() == [1, 2]


def test_several_outputs_become_an_object_and_bytes_become_text() -> None:
    outputs = {
        "scores": np.array([[0.25, 0.75]], np.float32),
        "label": np.array([[b"cat"]], dtype=object),
        "blob": np.array([b"\xff"], dtype=object),
    }
    assert orjson.loads(encode_predictions_response(outputs)) == {
        "scores": [[0.25, 0.75]],
        "label": [["cat"]],
        "blob": [{"b64": "/w=="}],
    }


def test_raw_bytes_body_for_a_single_bytes_input() -> None:
    model = one_input("BYTES", (-1, 1), 4)
    inputs = decode_predictions_body(model, b"\x89PNG...", "image/png")
    assert inputs["INPUT0"].shape == (1, 1)
    assert inputs["INPUT0"][0, 0] == b"\x89PNG..."


@pytest.mark.parametrize(
    ("model", "body", "content_type", "expected"),
    [
        (one_input("FP32", (3,)), b"[1, 2", None, "the /predictions body must be JSON"),
        (
            simple(),
            b"[[1]]",
            None,
            "model 'simple' has 2 inputs (INPUT0, INPUT1); send a JSON object",
        ),
        (one_input("FP32", (3,)), b"7", None, "the /predictions body must be a JSON object"),
        (
            one_input("FP32", (3,)),
            b'{"nope": [1, 2, 3]}',
            None,
            "unexpected inference input 'nope' for model 'model'",
        ),
        (
            simple(),
            orjson.dumps({"INPUT0": ROW}),
            None,
            "expected 2 inputs but got 1 inputs for model 'simple'",
        ),
        (
            one_input("FP32", (3,)),
            b"[1, 2]",
            None,
            "unexpected shape for input 'INPUT0' for model 'model'. Expected [3], got [2].",
        ),
        (
            one_input("INT32", (2,)),
            b"[1.5, 2]",
            None,
            "input 'INPUT0': INT32 data must be JSON integers, not fractions",
        ),
        (
            simple(),
            orjson.dumps({"INPUT0": [ROW, ROW], "INPUT1": [ROW]}),
            None,
            "input 'INPUT1' batch size does not match other inputs for 'simple'",
        ),
        (
            one_input("FP32", (3,)),
            b"\x00\x01",
            "application/octet-stream",
            "a application/octet-stream body needs a model with a single BYTES input",
        ),
    ],
)
def test_bad_bodies(model, body: bytes, content_type: str | None, expected: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        decode_predictions_body(model, body, content_type)
    assert caught.value.message.startswith(expected)


def test_bytes_input_from_json_strings() -> None:
    model = signature([("text", "BYTES", (-1,))], [("out", "FP32", (-1,))], max_batch_size=2)
    inputs = decode_predictions_body(model, b'["hello"]', None)
    assert inputs["text"].tolist() == [b"hello"]
