"""Response layout (headers, id, per-output binary flags) and the model metadata body."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from backends.base import ModelMetadata, TensorSpec
from repository_server.errors import InferenceFailedError, InvalidRequestError
from repository_server.kserve import (
    InferRequest,
    Signature,
    decode_infer_request,
    encode_infer_response,
)
from tests.kserve.signatures import simple

ROW = list(range(16))


def request_for(**fields) -> InferRequest:
    document = {
        "inputs": [
            {"name": "INPUT0", "datatype": "INT32", "shape": [1, 16], "data": ROW},
            {"name": "INPUT1", "datatype": "INT32", "shape": [1, 16], "data": ROW},
        ],
        **fields,
    }
    return decode_infer_request(simple(), orjson.dumps(document), None)


OUTPUTS = {
    "OUTPUT0": np.arange(16, dtype=np.int32).reshape(1, 16),
    "OUTPUT1": np.zeros((1, 16), dtype=np.int32),
}


def test_json_response_layout() -> None:
    body, headers = encode_infer_response("simple", "3", request_for(), OUTPUTS)
    assert headers == {"Content-Type": "application/json"}
    document = orjson.loads(body)
    assert "id" not in document
    assert document["model_name"] == "simple"
    assert document["model_version"] == "3"
    assert document["outputs"][0] == {
        "name": "OUTPUT0",
        "datatype": "INT32",
        "shape": [1, 16],
        "data": ROW,
    }


def test_binary_data_output_default_with_per_output_override() -> None:
    request = request_for(
        id="abc",
        parameters={"binary_data_output": True},
        outputs=[{"name": "OUTPUT1", "parameters": {"binary_data": False}}, {"name": "OUTPUT0"}],
    )
    assert request.outputs == {"OUTPUT1": False, "OUTPUT0": True}
    body, headers = encode_infer_response("simple", "1", request, OUTPUTS)
    length = int(headers["Inference-Header-Content-Length"])
    assert headers["Content-Type"] == "application/octet-stream"
    header = orjson.loads(body[:length])
    assert header["id"] == "abc"
    # Requested order, requested encodings.
    assert [o["name"] for o in header["outputs"]] == ["OUTPUT1", "OUTPUT0"]
    assert header["outputs"][0]["data"] == [0] * 16
    assert header["outputs"][1]["parameters"] == {"binary_data_size": 64}
    assert "data" not in header["outputs"][1]
    assert body[length:] == OUTPUTS["OUTPUT0"].tobytes()


def test_only_requested_outputs_are_sent() -> None:
    request = request_for(outputs=[{"name": "OUTPUT1"}])
    body, _ = encode_infer_response("simple", "1", request, OUTPUTS)
    assert [o["name"] for o in orjson.loads(body)["outputs"]] == ["OUTPUT1"]


def test_output_the_model_did_not_produce() -> None:
    request = request_for(outputs=[{"name": "OUTPUT1"}])
    with pytest.raises(InferenceFailedError, match="model 'simple' produced no output 'OUTPUT1'"):
        encode_infer_response("simple", "1", request, {"OUTPUT0": OUTPUTS["OUTPUT0"]})


def test_non_utf8_bytes_cannot_go_out_as_json() -> None:
    outputs = {"OUTPUT0": np.array([b"\xff\xfe"], dtype=object)}
    with pytest.raises(InvalidRequestError) as caught:
        encode_infer_response("simple", "1", request_for(), outputs)
    assert caught.value.message == (
        "output 'OUTPUT0' holds bytes that are not UTF-8 text and cannot be sent as JSON; "
        "request it with 'binary_data': true"
    )


def test_non_contiguous_and_big_endian_outputs_are_laid_out_little_endian() -> None:
    base = np.arange(8, dtype=">i4").reshape(2, 4)
    request = request_for(parameters={"binary_data_output": True})
    body, headers = encode_infer_response("simple", "1", request, {"OUTPUT0": base.T})
    length = int(headers["Inference-Header-Content-Length"])
    assert body[length:] == np.ascontiguousarray(base.T, dtype="<i4").tobytes()
    json_body, _ = encode_infer_response("simple", "1", request_for(), {"OUTPUT0": base.T})
    assert orjson.loads(json_body)["outputs"][0]["data"] == base.T.reshape(-1).tolist()


def test_classification_of_an_unbatched_integer_output() -> None:
    signature = Signature.of(
        "m",
        ModelMetadata("p", (TensorSpec("X", "INT32", (3,)),), (TensorSpec("Y", "INT64", (3,)),)),
        0,
    )
    body = orjson.dumps(
        {
            "inputs": [{"name": "X", "datatype": "INT32", "shape": [3], "data": [1, 2, 3]}],
            "outputs": [{"name": "Y", "parameters": {"classification": 5}}],
        }
    )
    request = decode_infer_request(signature, body, None)
    response, _ = encode_infer_response("m", "1", request, {"Y": np.array([5, 9, 7])})
    output = orjson.loads(response)["outputs"][0]
    assert output == {"name": "Y", "datatype": "BYTES", "shape": [3], "data": ["9:1", "7:2", "5:0"]}


def test_metadata_json_prepends_the_batch_dimension() -> None:
    metadata = simple().metadata_json(["1", "2"], "onnxruntime_onnx")
    assert metadata == {
        "name": "simple",
        "versions": ["1", "2"],
        "platform": "onnxruntime_onnx",
        "inputs": [
            {"name": "INPUT0", "datatype": "INT32", "shape": [-1, 16]},
            {"name": "INPUT1", "datatype": "INT32", "shape": [-1, 16]},
        ],
        "outputs": [
            {"name": "OUTPUT0", "datatype": "INT32", "shape": [-1, 16]},
            {"name": "OUTPUT1", "datatype": "INT32", "shape": [-1, 16]},
        ],
    }


def test_signature_refuses_metadata_it_cannot_serve() -> None:
    scalar = ModelMetadata("p", (TensorSpec("X", "FP32", ()),), ())
    with pytest.raises(ValueError, match="'X' has no batch dimension"):
        Signature.of("m", scalar, max_batch_size=4)
    odd = ModelMetadata("p", (TensorSpec("X", "COMPLEX64", (2,)),), ())
    with pytest.raises(ValueError, match="datatype 'COMPLEX64', which the server does not support"):
        Signature.of("m", odd, max_batch_size=0)
