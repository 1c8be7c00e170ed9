"""The contract every backend meets, shown on the example models (mlp version 1 in each format)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from backends import registry
from backends.base import InferenceInputError, TensorSpec
from model_repository import networks

TOLERANCE = 1e-5


def rows(count: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((count, 4)).astype(np.float32)


def test_metadata_comes_with_batch_dimension_and_kserve_datatypes(backend, example):
    assert example.metadata.platform == registry.BACKENDS[backend.name].platform
    assert example.metadata.inputs == (TensorSpec("INPUT0", "FP32", (-1, 4)),)
    assert example.metadata.outputs == (TensorSpec("OUTPUT0", "FP32", (-1, 3)),)


def test_outputs_equal_the_torch_reference(example):
    inputs = rows(7, seed=1)
    outputs = example.infer({"INPUT0": inputs})
    assert list(outputs) == ["OUTPUT0"]
    assert outputs["OUTPUT0"].dtype == np.float32
    expected = networks.reference(networks.mlp_module(1), inputs)
    np.testing.assert_allclose(outputs["OUTPUT0"], expected, atol=TOLERANCE, rtol=TOLERANCE)


def test_batch_of_one_and_read_only_inputs(example):
    inputs = rows(1, seed=2)
    inputs.flags.writeable = False  # as a request body decoded with np.frombuffer arrives
    outputs = example.infer({"INPUT0": inputs})
    expected = networks.reference(networks.mlp_module(1), inputs.copy())
    np.testing.assert_allclose(outputs["OUTPUT0"], expected, atol=TOLERANCE, rtol=TOLERANCE)


def test_eight_threads_at_once_each_get_their_own_answer(example):
    threads, calls = 8, 25
    start = threading.Barrier(threads)
    reference = networks.mlp_module(1)

    def worker(seed: int) -> list[bool]:
        start.wait(timeout=30)
        matches = []
        for call in range(calls):
            inputs = rows(1 + (seed + call) % 5, seed=seed * 1000 + call)
            result = example.infer({"INPUT0": inputs})["OUTPUT0"]
            expected = networks.reference(reference, inputs)
            matches.append(np.allclose(result, expected, atol=TOLERANCE, rtol=TOLERANCE))
        return matches

    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(worker, range(threads)))
    assert all(all(matches) for matches in results)
    assert sum(len(matches) for matches in results) == threads * calls


def test_inputs_the_runtime_refuses_are_input_errors(example):
    with pytest.raises(InferenceInputError, match="rejected the inputs"):
        example.infer({"INPUT0": np.ones((2, 5), np.float32)})


def test_closed_model_refuses_to_run(backend):
    model = backend.load_example()
    model.close()
    with pytest.raises(RuntimeError, match="closed"):
        model.infer({"INPUT0": rows(1, seed=3)})


def test_describe_names_backend_and_file(backend, example):
    details = example.describe()
    assert details["backend"] == backend.name
    assert details["file"] in {"model.onnx", "model.pt", "model.xml"}
    assert example.device.lower() in {"cpu", "cuda:0", "gpu"}
