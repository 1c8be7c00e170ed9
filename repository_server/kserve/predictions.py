"""TorchServe's `/predictions/{model}` bodies over the same models as the v2 protocol.

Request: a JSON object of input name -> nested list, or a bare nested list for a single-input
model. Datatypes come from the model. When the model batches, an input sent as one row (without
the batch dimension) gets a batch dimension of 1, and the response drops it again.

A body that is not JSON (`Content-Type` application/octet-stream, image/*, audio/*, video/*)
is accepted for a model whose single input is BYTES with one element per row: the body becomes
that element, as TorchServe hands raw bytes to a handler.

Response: a single output as its nested list; several outputs as a JSON object of output name
-> nested list. BYTES elements are strings when they are UTF-8 text, else `{"b64": "..."}`
(TensorFlow Serving's convention for binary values in JSON).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson

from repository_server.errors import InvalidRequestError
from repository_server.kserve.signature import InputSlot, Signature
from repository_server.kserve.tensor_data import TensorDataError, from_nested

_RAW_MEDIA_PREFIXES = ("application/octet-stream", "image/", "audio/", "video/")


class PredictionInputs(dict[str, np.ndarray]):
    """The input arrays of a /predictions body, plus whether a batch dimension was added."""

    def __init__(self, arrays: dict[str, np.ndarray], added_batch_dim: bool) -> None:
        super().__init__(arrays)
        self.added_batch_dim = added_batch_dim


def decode_predictions_body(
    signature: Signature, body: bytes, content_type: str | None
) -> PredictionInputs:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media.startswith(_RAW_MEDIA_PREFIXES):
        return _raw_body(signature, body, media)
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise InvalidRequestError(
            "the /predictions body must be JSON (an object of input name -> nested list, or "
            f"a nested list for a single-input model): {error}"
        ) from None
    values = _values_by_input(signature, document)
    arrays: dict[str, np.ndarray] = {}
    added: list[bool] = []
    batch: int | None = None
    for name, value in values.items():
        slot = signature.input_slot(name)
        array, was_added = _input_array(signature, slot, value)
        this_batch = signature.check_shape(slot, array.shape)
        if arrays and this_batch != batch:
            raise InvalidRequestError(
                f"input '{name}' batch size does not match other inputs for "
                f"'{signature.model_name}'"
            )
        batch = this_batch
        arrays[name] = array
        added.append(was_added)
    signature.check_all_inputs_given(arrays)
    return PredictionInputs(arrays, added_batch_dim=bool(added) and all(added))


def encode_predictions_response(
    outputs: Mapping[str, np.ndarray], added_batch_dim: bool = False
) -> bytes:
    """A single output as its nested list, several as an object of name -> nested list.

    `added_batch_dim` (from `PredictionInputs`) drops the batch dimension the request lacked.
    """
    shaped = {name: _unbatched(array, added_batch_dim) for name, array in outputs.items()}
    converted = {name: _json_value(array) for name, array in shaped.items()}
    document: Any = next(iter(converted.values())) if len(converted) == 1 else converted
    return orjson.dumps(document, option=orjson.OPT_SERIALIZE_NUMPY)


def _values_by_input(signature: Signature, document: Any) -> dict[str, Any]:
    if isinstance(document, dict):
        return document
    if isinstance(document, list):
        if len(signature.inputs) != 1:
            raise InvalidRequestError(
                f"model '{signature.model_name}' has {len(signature.inputs)} inputs "
                f"({', '.join(signature.inputs)}); send a JSON object of input name -> "
                "nested list instead of a bare list"
            )
        return {next(iter(signature.inputs)): document}
    raise InvalidRequestError(
        "the /predictions body must be a JSON object of input name -> nested list, or a "
        f"nested list for a single-input model; got {type(document).__name__}"
    )


def _input_array(signature: Signature, slot: InputSlot, value: Any) -> tuple[np.ndarray, bool]:
    try:
        array = from_nested(value, slot.datatype)
    except TensorDataError as error:
        raise InvalidRequestError(f"input '{slot.name}': {error}") from None
    if signature.batched and array.ndim == slot.rank - 1:
        return array[np.newaxis], True
    return array, False


def _raw_body(signature: Signature, body: bytes, media: str) -> PredictionInputs:
    slots = list(signature.inputs.values())
    slot = slots[0] if len(slots) == 1 else None
    if slot is None or slot.datatype != "BYTES":
        raise InvalidRequestError(
            f"a {media} body needs a model with a single BYTES input; send JSON to model "
            f"'{signature.model_name}' instead"
        )
    element = np.empty(1, dtype=object)
    element[0] = body
    shape = (1,) * slot.rank
    signature.check_shape(slot, shape)
    return PredictionInputs({slot.name: element.reshape(shape)}, added_batch_dim=False)


def _unbatched(array: np.ndarray, added_batch_dim: bool) -> np.ndarray:
    if added_batch_dim and array.ndim > 0 and array.shape[0] == 1:
        return array[0]
    return array


def _json_value(array: np.ndarray) -> Any:
    if array.dtype.kind not in "OSU":
        if array.ndim == 0 or not array.dtype.isnative:
            return array.tolist()
        return array if array.flags.c_contiguous else array.copy()
    texts = np.empty(array.shape, dtype=object)
    flat = texts.reshape(-1)
    for index, element in enumerate(array.reshape(-1).tolist()):
        flat[index] = _text(element)
    return texts.tolist()


def _text(element: Any) -> Any:
    if isinstance(element, str):
        return element
    raw = bytes(element)
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(raw).decode()}
