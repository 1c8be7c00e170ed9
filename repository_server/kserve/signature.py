"""What one served version takes and gives, prepared once at load time for the request path."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from backends.base import DYNAMIC, ModelMetadata, TensorSpec
from backends.datatypes import DATATYPES
from repository_server.errors import InvalidRequestError
from repository_server.kserve.tensor_data import format_shape

_BATCH_NOTE = (
    "NOTE: Setting a non-zero max_batch_size in the model config requires a batch dimension to "
    "be prepended to each input shape. If you want to specify the full shape including the "
    "batch dim in your input dims config, try setting max_batch_size to zero. See the model "
    "configuration docs for more info on max_batch_size."
)


@dataclass(frozen=True)
class InputSlot:
    """One model input with the lookups a request needs precomputed."""

    spec: TensorSpec
    # (position, size) of every dimension a request must match exactly.
    fixed_dims: tuple[tuple[int, int], ...]

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def datatype(self) -> str:
        return self.spec.datatype

    @property
    def rank(self) -> int:
        return len(self.spec.shape)


@dataclass(frozen=True)
class Signature:
    """A served version's inputs and outputs, keyed for the request path.

    With `max_batch_size` > 0 the first dimension of every input and output is the batch
    dimension (the full shapes of `ModelMetadata` include it); requests may send any batch size
    from 0 to `max_batch_size` there.
    """

    model_name: str
    max_batch_size: int
    inputs: dict[str, InputSlot]
    outputs: dict[str, TensorSpec]
    inputs_json: tuple[dict[str, Any], ...]
    outputs_json: tuple[dict[str, Any], ...]
    # Output name -> class labels from its label file (Triton's classification extension).
    labels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        model_name: str,
        metadata: ModelMetadata,
        max_batch_size: int,
        labels: Mapping[str, tuple[str, ...]] | None = None,
    ) -> Signature:
        """Raises ValueError when the metadata cannot describe a servable signature."""
        batched = max_batch_size > 0
        inputs: dict[str, InputSlot] = {}
        for spec in metadata.inputs:
            _check_spec(model_name, spec, batched, "input")
            if spec.name in inputs:
                raise ValueError(f"model '{model_name}' declares input '{spec.name}' twice")
            first = 1 if batched else 0
            fixed = tuple(
                (position, dim)
                for position, dim in enumerate(spec.shape)
                if position >= first and dim != DYNAMIC
            )
            inputs[spec.name] = InputSlot(spec, fixed)
        outputs: dict[str, TensorSpec] = {}
        for spec in metadata.outputs:
            _check_spec(model_name, spec, batched, "output")
            outputs[spec.name] = spec
        return cls(
            model_name=model_name,
            max_batch_size=max_batch_size,
            inputs=inputs,
            outputs=outputs,
            inputs_json=tuple(_spec_json(spec, batched) for spec in metadata.inputs),
            outputs_json=tuple(_spec_json(spec, batched) for spec in metadata.outputs),
            labels=dict(labels or {}),
        )

    @property
    def batched(self) -> bool:
        return self.max_batch_size > 0

    def metadata_json(self, versions: list[str], platform: str) -> dict[str, Any]:
        """The v2 model metadata body (`GET /v2/models/{m}[/versions/{v}]`)."""
        return {
            "name": self.model_name,
            "versions": versions,
            "platform": platform,
            "inputs": list(self.inputs_json),
            "outputs": list(self.outputs_json),
        }

    def input_slot(self, name: str) -> InputSlot:
        slot = self.inputs.get(name)
        if slot is None:
            raise InvalidRequestError(
                f"unexpected inference input '{name}' for model '{self.model_name}'"
            )
        return slot

    def check_datatype(self, slot: InputSlot, datatype: str) -> None:
        if datatype == slot.datatype:
            return
        if datatype not in DATATYPES:
            raise InvalidRequestError(
                f"inference input '{slot.name}' has unknown datatype '{datatype}'; "
                f"expected '{slot.datatype}' for model '{self.model_name}'"
            )
        raise InvalidRequestError(
            f"inference input '{slot.name}' data-type is '{datatype}', but model "
            f"'{self.model_name}' expects '{slot.datatype}'"
        )

    def check_shape(self, slot: InputSlot, shape: tuple[int, ...]) -> int | None:
        """Validates a request shape against the model; returns its batch size (None unbatched)."""
        if len(shape) != slot.rank or any(shape[pos] != dim for pos, dim in slot.fixed_dims):
            shown = (DYNAMIC, *slot.spec.shape[1:]) if self.batched else slot.spec.shape
            note = " " + _BATCH_NOTE if self.batched else ""
            raise InvalidRequestError(
                f"unexpected shape for input '{slot.name}' for model '{self.model_name}'. "
                f"Expected {format_shape(shown)}, got {format_shape(shape)}.{note}"
            )
        if not self.batched:
            return None
        batch = shape[0]
        if batch > self.max_batch_size:
            raise InvalidRequestError(
                f"inference request batch-size must be <= {self.max_batch_size} for "
                f"'{self.model_name}'"
            )
        return batch

    def check_all_inputs_given(self, given: dict[str, Any]) -> None:
        if len(given) == len(self.inputs):
            return
        missing = [name for name in self.inputs if name not in given]
        raise InvalidRequestError(
            f"expected {len(self.inputs)} inputs but got {len(given)} inputs for model "
            f"'{self.model_name}'. Got input(s) {_name_list(given)}, but missing required "
            f"input(s) {_name_list(missing)}. Please provide all required input(s)."
        )

    def output_spec(self, name: str) -> TensorSpec:
        spec = self.outputs.get(name)
        if spec is None:
            raise InvalidRequestError(
                f"unexpected inference output '{name}' for model '{self.model_name}'"
            )
        return spec


def _check_spec(model_name: str, spec: TensorSpec, batched: bool, kind: str) -> None:
    if spec.datatype not in DATATYPES:
        raise ValueError(
            f"model '{model_name}' {kind} '{spec.name}' has datatype '{spec.datatype}', "
            f"which the server does not support"
        )
    if batched and not spec.shape:
        raise ValueError(
            f"model '{model_name}' batches (max_batch_size > 0) but {kind} '{spec.name}' "
            "has no batch dimension"
        )


def _spec_json(spec: TensorSpec, batched: bool) -> dict[str, Any]:
    shape = [DYNAMIC, *spec.shape[1:]] if batched else list(spec.shape)
    return {"name": spec.name, "datatype": spec.datatype, "shape": shape}


def _name_list(names: Any) -> str:
    """Triton's way of listing names: `['a','b']`."""
    return "[" + ",".join(f"'{name}'" for name in names) + "]"
