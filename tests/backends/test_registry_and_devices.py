"""Backends whose package is missing, and device selection (GPU tests run only with CUDA)."""

from __future__ import annotations

import dataclasses
import shutil
import sys

import numpy as np
import pytest

from backends import registry
from backends.base import BackendNotInstalledError, ModelLoadError, ModelSpec
from model_repository import networks
from tests.backends.conftest import EXAMPLES


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return torch.cuda.is_available()


def test_missing_openvino_package_gives_the_install_hint(monkeypatch):
    # A None entry in sys.modules is how Python marks a module unimportable: find_spec and import
    # both fail for it, exactly as when the package was never installed.
    monkeypatch.setitem(sys.modules, "openvino", None)
    with pytest.raises(BackendNotInstalledError) as error:
        registry.load_function("openvino")
    assert str(error.value) == (
        "backend 'openvino' needs the openvino package: pip install repository-server[openvino]"
    )
    assert error.value.backend == "openvino"
    assert isinstance(error.value, ModelLoadError)


def test_backend_whose_package_does_not_exist(monkeypatch):
    info = dataclasses.replace(
        registry.BACKENDS["onnxruntime"], package="onnxruntime_not_installed_here", extra="onnx"
    )
    monkeypatch.setitem(registry.BACKENDS, "onnxruntime", info)
    with pytest.raises(
        BackendNotInstalledError,
        match=r"needs the onnxruntime_not_installed_here package: pip install repository-server\[onnx\]",
    ):
        registry.load_function("onnxruntime")


@pytest.mark.parametrize("name", ["onnxruntime", "pytorch", "openvino"])
def test_each_backend_module_exposes_load(name):
    pytest.importorskip(registry.BACKENDS[name].package)
    assert callable(registry.load_function(name))


@pytest.mark.skipif(cuda_available(), reason="shows the error a machine without CUDA gives")
@pytest.mark.parametrize(
    ("backend", "example", "message"),
    [
        ("onnxruntime", "mlp", "KIND_GPU"),
        ("pytorch", "mlp_torchscript", "KIND_GPU, but torch .* finds no CUDA device"),
    ],
)
def test_kind_gpu_without_cuda_is_a_load_error(tmp_path, backend, example, message):
    pytest.importorskip(registry.BACKENDS[backend].package)
    folder = tmp_path / "m" / "1"
    shutil.copytree(EXAMPLES / example / "1", folder)
    spec = dataclasses.replace(example_spec(example), device_kind="KIND_GPU")
    with pytest.raises(ModelLoadError, match=message) as error:
        registry.load_function(backend)(folder, spec)
    assert error.value.path == folder / registry.BACKENDS[backend].model_files[0][0]


def test_openvino_kind_gpu_without_a_gpu_device(tmp_path):
    openvino = pytest.importorskip("openvino")
    if any(device.startswith("GPU") for device in openvino.Core().available_devices):
        pytest.skip("this machine has an OpenVINO GPU device")
    folder = tmp_path / "m" / "1"
    shutil.copytree(EXAMPLES / "mlp_openvino" / "1", folder)
    spec = ModelSpec("m", device_kind="KIND_GPU")
    with pytest.raises(ModelLoadError, match="KIND_GPU, but OpenVINO finds no GPU device"):
        registry.load_function("openvino")(folder, spec)


def example_spec(model: str) -> ModelSpec:
    from repository_server.repository.config import parse_config

    return parse_config((EXAMPLES / model / "config.json").read_text(), model).spec()


@pytest.mark.parametrize("kind", ["KIND_AUTO", "KIND_CPU"])
@pytest.mark.parametrize(
    ("backend", "example"), [("onnxruntime", "mlp"), ("pytorch", "mlp_torchscript")]
)
def test_cpu_kinds_run(backend, example, kind):
    pytest.importorskip(registry.BACKENDS[backend].package)
    spec = dataclasses.replace(example_spec(example), device_kind=kind)
    model = registry.load_function(backend)(EXAMPLES / example / "1", spec)
    try:
        inputs = np.ones((2, 4), np.float32)
        result = model.infer({"INPUT0": inputs})["OUTPUT0"]
        if kind == "KIND_CPU":
            assert model.device.lower() == "cpu"
    finally:
        model.close()
    np.testing.assert_allclose(
        result, networks.reference(networks.mlp_module(1), inputs), atol=1e-5
    )


@pytest.mark.gpu
@pytest.mark.skipif(not cuda_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("kind", ["KIND_GPU", "KIND_AUTO"])
def test_torch_runs_on_cuda(kind):
    spec = dataclasses.replace(example_spec("mlp_torchscript"), device_kind=kind)
    model = registry.load_function("pytorch")(EXAMPLES / "mlp_torchscript" / "1", spec)
    try:
        assert model.device == "cuda:0"
        inputs = np.random.default_rng(4).standard_normal((16, 4)).astype(np.float32)
        result = model.infer({"INPUT0": inputs})["OUTPUT0"]
    finally:
        model.close()
    np.testing.assert_allclose(
        result, networks.reference(networks.mlp_module(1), inputs), atol=1e-4
    )


@pytest.mark.gpu
@pytest.mark.skipif(not cuda_available(), reason="needs a CUDA device")
def test_onnxruntime_takes_cuda_when_onnxruntime_gpu_is_installed():
    import onnxruntime

    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        pytest.skip("onnxruntime without the CUDA provider (install the onnx-gpu extra)")
    model = registry.load_function("onnxruntime")(EXAMPLES / "mlp" / "1", example_spec("mlp"))
    try:
        assert model.device == "cuda:0"
        assert model.describe()["providers"][0] == "CUDAExecutionProvider"
        inputs = np.random.default_rng(4).standard_normal((16, 4)).astype(np.float32)
        result = model.infer({"INPUT0": inputs})["OUTPUT0"]
    finally:
        model.close()
    np.testing.assert_allclose(
        result, networks.reference(networks.mlp_module(1), inputs), atol=1e-4
    )
