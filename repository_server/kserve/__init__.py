"""The Open Inference Protocol (KServe v2, with Triton's extensions) tensor codec, and
TorchServe's /predictions bodies: bytes and dicts in, numpy arrays out, and back.

Free of any HTTP framework: the HTTP layer hands over bodies and header values and sends back
what these functions return. A `Signature` is built once per served version at load time.
"""

from repository_server.kserve.infer_request import (
    HEADER_LENGTH,
    InferRequest,
    decode_infer_request,
    parse_header_length,
)
from repository_server.kserve.infer_response import encode_infer_response
from repository_server.kserve.predictions import (
    PredictionInputs,
    decode_predictions_body,
    encode_predictions_response,
)
from repository_server.kserve.signature import InputSlot, Signature

__all__ = [
    "HEADER_LENGTH",
    "InferRequest",
    "InputSlot",
    "PredictionInputs",
    "Signature",
    "decode_infer_request",
    "decode_predictions_body",
    "encode_infer_response",
    "encode_predictions_response",
    "parse_header_length",
]
