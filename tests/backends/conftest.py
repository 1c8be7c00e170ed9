"""One fixture parametrized over the three backends; each is skipped only when its package is
missing (CI installs all three, so nothing is skipped there)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from backends import registry
from backends.base import LoadedModel

EXAMPLES = Path(__file__).parents[2] / "model_repository"


@dataclass(frozen=True)
class BackendCase:
    """A backend and the example model that shows it: the same network (mlp version 1) in the
    backend's own format."""

    name: str
    example: str

    def load_example(self, version: int = 1) -> LoadedModel:
        return load_example(self.example, version)


CASES = (
    BackendCase("onnxruntime", "mlp"),
    BackendCase("pytorch", "mlp_torchscript"),
    BackendCase("openvino", "mlp_openvino"),
)


def load_example(model: str, version: int = 1) -> LoadedModel:
    """Loads an example model the way the server does: its config.json through the config loader,
    then the backend the config names, through the registry."""
    from repository_server.repository.config import parse_config

    folder = EXAMPLES / model
    config = parse_config((folder / "config.json").read_text(), model)
    assert config.backend is not None
    return registry.load_function(config.backend)(folder / str(version), config.spec())


def _skip_without(package: str) -> pytest.MarkDecorator:
    missing = importlib.util.find_spec(package) is None
    return pytest.mark.skipif(missing, reason=f"the {package} package is not installed")


@pytest.fixture(
    params=[
        pytest.param(case, id=case.name, marks=_skip_without(registry.BACKENDS[case.name].package))
        for case in CASES
    ]
)
def backend(request: pytest.FixtureRequest) -> BackendCase:
    case: BackendCase = request.param
    return case


@pytest.fixture
def example(backend: BackendCase) -> Iterator[LoadedModel]:
    model = backend.load_example()
    yield model
    model.close()
