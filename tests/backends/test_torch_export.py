"""torch.export programs (`model.pt2`) carry their signature: metadata comes from the program."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from backends.base import InferenceInputError, ModelLoadError, ModelSpec, TensorSpec
from model_repository import networks

pytest.importorskip("torch", reason="the torch package is not installed")
import torch

from backends import torch as torch_backend


class TwoHeads(torch.nn.Module):
    """Two inputs (FP32 rows, INT64 ids) and two outputs, to show positional naming."""

    def forward(self, rows: torch.Tensor, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return rows.sum(dim=1), ids * 2


def export(module: torch.nn.Module, examples: tuple, folder: Path, dynamic: bool = True) -> Path:
    batch = torch.export.Dim("batch", min=1, max=64)
    shapes = tuple({0: batch} for _ in examples) if dynamic else None
    program = torch.export.export(module, examples, dynamic_shapes=shapes)
    folder.mkdir(parents=True, exist_ok=True)
    torch.export.save(program, str(folder / "model.pt2"))
    return folder


@pytest.fixture
def two_heads(tmp_path) -> Path:
    return export(
        TwoHeads(), (torch.ones(2, 5), torch.ones(2, dtype=torch.int64)), tmp_path / "m" / "1"
    )


def test_mlp_program_matches_the_reference(tmp_path):
    folder = export(networks.mlp_module(2), (torch.zeros(3, 4),), tmp_path / "1")
    model = torch_backend.load(folder, ModelSpec("m"))
    try:
        assert model.metadata.inputs == (TensorSpec("INPUT0", "FP32", (-1, 4)),)
        assert model.metadata.outputs == (TensorSpec("OUTPUT0", "FP32", (-1, 3)),)
        assert model.describe()["format"] == "torch.export"
        inputs = np.random.default_rng(3).standard_normal((9, 4)).astype(np.float32)
        result = model.infer({"INPUT0": inputs})["OUTPUT0"]
    finally:
        model.close()
    np.testing.assert_allclose(
        result, networks.reference(networks.mlp_module(2), inputs), atol=1e-5
    )


def test_names_are_positional_without_config(two_heads):
    model = torch_backend.load(two_heads, ModelSpec("m"))
    try:
        assert model.metadata.inputs == (
            TensorSpec("INPUT0", "FP32", (-1, 5)),
            TensorSpec("INPUT1", "INT64", (-1,)),
        )
        assert model.metadata.outputs == (
            TensorSpec("OUTPUT0", "FP32", (-1,)),
            TensorSpec("OUTPUT1", "INT64", (-1,)),
        )
        outputs = model.infer({"INPUT0": np.ones((3, 5), np.float32), "INPUT1": np.arange(3)})
    finally:
        model.close()
    np.testing.assert_array_equal(outputs["OUTPUT0"], [5.0, 5.0, 5.0])
    np.testing.assert_array_equal(outputs["OUTPUT1"], [0, 2, 4])


def test_names_come_from_config_in_order(two_heads):
    spec = ModelSpec(
        "m",
        inputs=(TensorSpec("ROWS", "FP32", (-1, 5)), TensorSpec("IDS", "INT64", (-1,))),
        outputs=(TensorSpec("TOTAL", "FP32", (-1,)), TensorSpec("DOUBLED", "INT64", (-1,))),
        max_batch_size=8,
    )
    model = torch_backend.load(two_heads, spec)
    try:
        assert [s.name for s in model.metadata.inputs] == ["ROWS", "IDS"]
        outputs = model.infer({"IDS": np.array([7]), "ROWS": np.full((1, 5), 2, np.float32)})
    finally:
        model.close()
    assert outputs["TOTAL"].tolist() == [10.0]
    assert outputs["DOUBLED"].tolist() == [14]


def test_config_must_name_every_tensor_with_the_programs_datatype(two_heads):
    one_input = ModelSpec("m", inputs=(TensorSpec("ROWS", "FP32", (-1, 5)),))
    with pytest.raises(ModelLoadError, match=r"the model has 2 input\(s\) but config.json names 1"):
        torch_backend.load(two_heads, one_input)
    wrong_type = ModelSpec(
        "m", inputs=(TensorSpec("ROWS", "FP64", (-1, 5)), TensorSpec("IDS", "INT64", (-1,)))
    )
    with pytest.raises(ModelLoadError, match="'ROWS' is FP64 but the model's is FP32"):
        torch_backend.load(two_heads, wrong_type)


def test_static_shapes_stay_static_and_violations_are_input_errors(tmp_path):
    folder = export(networks.mlp_module(1), (torch.zeros(2, 4),), tmp_path / "1", dynamic=False)
    model = torch_backend.load(folder, ModelSpec("m"))
    try:
        assert model.metadata.inputs == (TensorSpec("INPUT0", "FP32", (2, 4)),)
        with pytest.raises(InferenceInputError, match="rejected the inputs"):
            model.infer({"INPUT0": np.zeros((3, 4), np.float32)})
    finally:
        model.close()


def test_truncated_program(two_heads):
    path = two_heads / "model.pt2"
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(ModelLoadError, match="truncated or corrupt"):
        torch_backend.load(two_heads, ModelSpec("m"))
