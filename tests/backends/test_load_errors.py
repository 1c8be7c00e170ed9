"""Every file that cannot be a model gets a ModelLoadError naming the file and the cause."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from backends import registry
from backends.base import ModelLoadError, ModelSpec, TensorSpec
from tests.backends.conftest import EXAMPLES

pytest.importorskip("torch", reason="the torch package is not installed")
pytest.importorskip("openvino", reason="the openvino package is not installed")

MLP_SPEC = ModelSpec(
    "m",
    inputs=(TensorSpec("INPUT0", "FP32", (-1, 4)),),
    outputs=(TensorSpec("OUTPUT0", "FP32", (-1, 3)),),
    max_batch_size=64,
)


def version_with(tmp_path: Path, name: str, content: bytes) -> Path:
    folder = tmp_path / "m" / "1"
    folder.mkdir(parents=True)
    (folder / name).write_bytes(content)
    return folder


def load(backend: str, folder: Path, spec: ModelSpec = MLP_SPEC):
    return registry.load_function(backend)(folder, spec)


def truncated(source: Path) -> bytes:
    data = source.read_bytes()
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("backend", "name"),
    [
        ("onnxruntime", "model.onnx"),
        ("pytorch", "model.pt"),
        ("openvino", "model.xml"),
        ("openvino", "model.onnx"),
    ],
)
def test_empty_file(tmp_path, backend, name):
    folder = version_with(tmp_path, name, b"")
    (folder / "model.bin").write_bytes(b"")
    with pytest.raises(ModelLoadError, match="the file is empty") as error:
        load(backend, folder)
    assert error.value.path == folder / name


def test_missing_model_file_names_what_was_expected(tmp_path):
    folder = version_with(tmp_path, "notes.txt", b"hello")
    with pytest.raises(ModelLoadError, match=r"no model file: expected model\.onnx"):
        load("onnxruntime", folder)


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_truncated_onnx(tmp_path, backend):
    folder = version_with(tmp_path, "model.onnx", truncated(EXAMPLES / "mlp" / "1" / "model.onnx"))
    with pytest.raises(ModelLoadError, match=r"cannot (load|read) it") as error:
        load(backend, folder)
    assert error.value.path == folder / "model.onnx"
    assert str(error.value).startswith(str(folder / "model.onnx"))


def test_openvino_ir_without_its_weights(tmp_path):
    folder = version_with(
        tmp_path, "model.xml", (EXAMPLES / "mlp_openvino" / "1" / "model.xml").read_bytes()
    )
    with pytest.raises(
        ModelLoadError, match=r"its weights file model\.bin is missing beside it"
    ) as error:
        load("openvino", folder)
    assert error.value.path == folder / "model.xml"


def test_openvino_truncated_xml_and_truncated_bin(tmp_path):
    source = EXAMPLES / "mlp_openvino" / "1"
    folder = version_with(tmp_path, "model.xml", truncated(source / "model.xml"))
    shutil.copy(source / "model.bin", folder / "model.bin")
    with pytest.raises(ModelLoadError, match="OpenVINO cannot read it"):
        load("openvino", folder)
    shutil.copy(source / "model.xml", folder / "model.xml")
    (folder / "model.bin").write_bytes(truncated(source / "model.bin"))
    with pytest.raises(ModelLoadError, match=r"OpenVINO cannot read it: .*weights"):
        load("openvino", folder)


def test_state_dict_saved_as_model_pt_is_not_torchscript(tmp_path):
    import torch

    folder = tmp_path / "m" / "1"
    folder.mkdir(parents=True)
    torch.save(torch.nn.Linear(4, 3).state_dict(), folder / "model.pt")
    with pytest.raises(
        ModelLoadError, match=r"is a torch\.save\(\) pickle .*not TorchScript"
    ) as error:
        load("pytorch", folder)
    assert error.value.path == folder / "model.pt"
    assert "torch.jit.save(torch.jit.script(model)" in str(error.value)


def test_legacy_pickle_saved_as_model_pt(tmp_path):
    import torch

    folder = tmp_path / "m" / "1"
    folder.mkdir(parents=True)
    torch.save(
        {"weight": torch.zeros(3)}, folder / "model.pt", _use_new_zipfile_serialization=False
    )
    with pytest.raises(ModelLoadError, match=r"is a pickle .*not TorchScript"):
        load("pytorch", folder)


def test_truncated_torchscript(tmp_path):
    folder = version_with(
        tmp_path, "model.pt", truncated(EXAMPLES / "mlp_torchscript" / "1" / "model.pt")
    )
    with pytest.raises(ModelLoadError, match="is truncated or corrupt"):
        load("pytorch", folder)


def test_text_file_as_model_pt(tmp_path):
    folder = version_with(tmp_path, "model.pt", b"not a model at all")
    with pytest.raises(ModelLoadError, match="not a zip file"):
        load("pytorch", folder)


@pytest.mark.parametrize(
    ("spec", "missing"),
    [
        (ModelSpec("m"), "input and output"),
        (ModelSpec("m", inputs=MLP_SPEC.inputs), "output"),
        (ModelSpec("m", outputs=MLP_SPEC.outputs), "input"),
    ],
)
def test_torchscript_needs_input_and_output_in_config(tmp_path, spec, missing):
    folder = tmp_path / "m" / "1"
    shutil.copytree(EXAMPLES / "mlp_torchscript" / "1", folder)
    with pytest.raises(
        ModelLoadError, match=f"a TorchScript model needs {missing} in config.json"
    ) as error:
        load("pytorch", folder, spec)
    assert error.value.path == tmp_path / "m" / "config.json"


def test_torchscript_config_with_the_wrong_number_of_inputs(tmp_path):
    folder = tmp_path / "m" / "1"
    shutil.copytree(EXAMPLES / "mlp_torchscript" / "1", folder)
    two_inputs = ModelSpec(
        "m",
        inputs=(*MLP_SPEC.inputs, TensorSpec("INPUT1", "FP32", (-1, 4))),
        outputs=MLP_SPEC.outputs,
    )
    with pytest.raises(
        ModelLoadError, match=r"forward\(\) takes 1 input\(s\) .* config.json names 2"
    ):
        load("pytorch", folder, two_inputs)
    two_outputs = ModelSpec(
        "m", inputs=MLP_SPEC.inputs, outputs=(*MLP_SPEC.outputs, TensorSpec("X", "FP32", (-1,)))
    )
    with pytest.raises(ModelLoadError, match=r"returns 1 tensor\(s\) but config.json names 2"):
        load("pytorch", folder, two_outputs)


@pytest.mark.parametrize(
    ("backend", "example"), [("onnxruntime", "mlp"), ("openvino", "mlp_openvino")]
)
def test_config_naming_a_tensor_the_model_lacks(tmp_path, backend, example):
    folder = tmp_path / "m" / "1"
    shutil.copytree(EXAMPLES / example / "1", folder)
    spec = ModelSpec("m", inputs=(TensorSpec("IMAGE", "FP32", (-1, 4)),))
    with pytest.raises(
        ModelLoadError, match=r"config\.json input 'IMAGE' is not an input of the model"
    ):
        load(backend, folder, spec)
    spec = ModelSpec("m", outputs=(TensorSpec("OUTPUT0", "INT64", (-1, 3)),))
    with pytest.raises(
        ModelLoadError, match=r"config\.json output 'OUTPUT0' is INT64 but the model's is FP32"
    ):
        load(backend, folder, spec)


@pytest.mark.parametrize(
    ("backend", "example"), [("onnxruntime", "mlp"), ("openvino", "mlp_openvino")]
)
def test_config_dims_that_contradict_the_model(tmp_path, backend, example):
    # The example mlp takes INPUT0 FP32 [-1, 4] and gives OUTPUT0 FP32 [-1, 3].
    folder = tmp_path / "m" / "1"
    shutil.copytree(EXAMPLES / example / "1", folder)
    wrong_size = ModelSpec("m", inputs=(TensorSpec("INPUT0", "FP32", (-1, 5)),))
    with pytest.raises(
        ModelLoadError,
        match=r"config\.json input 'INPUT0' has shape \[-1,5\] but the model's is \[-1,4\]",
    ):
        load(backend, folder, wrong_size)
    wrong_rank = ModelSpec("m", outputs=(TensorSpec("OUTPUT0", "FP32", (3,)),))
    with pytest.raises(ModelLoadError, match=r"has shape \[3\] but the model's is \[-1,3\]"):
        load(backend, folder, wrong_rank)
    # A dimension left variable in the config agrees with any size.
    loose = ModelSpec("m", inputs=(TensorSpec("INPUT0", "FP32", (-1, -1)),))
    load(backend, folder, loose).close()


def test_onnxruntime_thread_parameters(tmp_path):
    folder = tmp_path / "m" / "1"
    shutil.copytree(EXAMPLES / "mlp" / "1", folder)
    loaded = load(
        "onnxruntime",
        folder,
        ModelSpec("m", parameters={"intra_op_thread_count": "2", "inter_op_thread_count": "1"}),
    )
    loaded.close()
    with pytest.raises(
        ModelLoadError, match=r"parameters.intra_op_thread_count: 'two' is not an integer"
    ):
        load("onnxruntime", folder, ModelSpec("m", parameters={"intra_op_thread_count": "two"}))


def test_openvino_unknown_device(tmp_path):
    folder = tmp_path / "m" / "1"
    shutil.copytree(EXAMPLES / "mlp_openvino" / "1", folder)
    with pytest.raises(ModelLoadError, match="OpenVINO cannot compile it for NOSUCHDEVICE"):
        load("openvino", folder, ModelSpec("m", parameters={"device": "NOSUCHDEVICE"}))
