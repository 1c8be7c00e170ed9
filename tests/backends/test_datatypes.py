"""Every KServe datatype each backend supports goes through a pass-through model unchanged, and
the metadata names it."""

from __future__ import annotations

import numpy as np
import pytest

from backends.base import ModelSpec, TensorSpec
from backends.datatypes import DATATYPES
from tests.backends import roundtrip_models
from tests.backends.roundtrip_models import WIDTH, sample

NUMERIC = sorted(DATATYPES - {"BYTES"})


def round_trip(model, datatype, input_name="INPUT0", output_name="OUTPUT0", values=None):
    try:
        assert model.metadata.inputs == (TensorSpec(input_name, datatype, (-1, WIDTH)),)
        assert model.metadata.outputs == (TensorSpec(output_name, datatype, (-1, WIDTH)),)
        values = sample(datatype) if values is None else values
        result = model.infer({input_name: values})[output_name]
    finally:
        model.close()
    assert result.dtype == values.dtype
    if datatype == "BYTES":
        assert all(isinstance(item, bytes) for item in result.flat)
    np.testing.assert_array_equal(result, values)


@pytest.mark.parametrize("datatype", sorted(DATATYPES))
def test_onnxruntime_round_trip(tmp_path, datatype):
    from backends import onnxruntime

    folder = roundtrip_models.onnx_identity(tmp_path / "1", datatype)
    round_trip(onnxruntime.load(folder, ModelSpec("identity")), datatype)


@pytest.mark.parametrize("datatype", sorted(DATATYPES))
def test_openvino_round_trip(tmp_path, datatype):
    openvino = pytest.importorskip(
        "backends.openvino", reason="the openvino package is not installed"
    )
    folder = roundtrip_models.openvino_pass_through(tmp_path / "1", datatype)
    # OpenVINO's CPU plugin computes INT64 as 32-bit integers: only that range survives.
    values = sample("INT32").astype(np.int64) if datatype == "INT64" else None
    round_trip(openvino.load(folder, ModelSpec("identity")), datatype, values=values)


@pytest.mark.parametrize("datatype", NUMERIC)
def test_torch_export_round_trip(tmp_path, datatype):
    torch_backend = pytest.importorskip(
        "backends.torch", reason="the torch package is not installed"
    )
    folder = roundtrip_models.exported_clone(tmp_path / "1", datatype)
    round_trip(torch_backend.load(folder, ModelSpec("identity")), datatype)


@pytest.mark.parametrize("datatype", NUMERIC)
def test_torchscript_round_trip(tmp_path, datatype):
    torch_backend = pytest.importorskip(
        "backends.torch", reason="the torch package is not installed"
    )
    folder = roundtrip_models.ScriptedClone.write(tmp_path / "1")
    spec = ModelSpec(
        "identity",
        inputs=(TensorSpec("IN", datatype, (-1, WIDTH)),),
        outputs=(TensorSpec("OUT", datatype, (-1, WIDTH)),),
        max_batch_size=8,
    )
    round_trip(torch_backend.load(folder, spec), datatype, "IN", "OUT")


def test_pytorch_refuses_bytes_in_config(tmp_path):
    torch_backend = pytest.importorskip(
        "backends.torch", reason="the torch package is not installed"
    )
    from backends.base import ModelLoadError

    folder = roundtrip_models.ScriptedClone.write(tmp_path / "m" / "1")
    spec = ModelSpec(
        "m",
        inputs=(TensorSpec("IN", "BYTES", (-1,)),),
        outputs=(TensorSpec("OUT", "BYTES", (-1,)),),
    )
    with pytest.raises(
        ModelLoadError, match="'IN' is BYTES, which PyTorch tensors cannot hold"
    ) as error:
        torch_backend.load(folder, spec)
    assert error.value.path == tmp_path / "m" / "config.json"
