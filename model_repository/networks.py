"""The example models' weights and their PyTorch definitions: the one source every file in this
repository is written from, and the reference the backend tests compare outputs with."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

MLP_VERSIONS = (1, 2)
LABELS = ("setosa", "versicolor", "virginica")
# Mean sepal length, sepal width, petal length, petal width of each iris species (cm).
IRIS_CENTROIDS = np.array(
    [[5.01, 3.43, 1.46, 0.25], [5.94, 2.77, 4.26, 1.33], [6.59, 2.97, 5.55, 2.03]],
    dtype=np.float32,
)
# Sharpens the classifier's softmax; the nearest centroid wins either way.
CLASSIFIER_SHARPNESS = 4.0
HEAVY_WIDTHS = (64, 256, 256, 16)

Weights = list[tuple[np.ndarray, np.ndarray]]


def mlp_weights(version: int) -> Weights:
    """Two layers, 4 -> 8 -> 3; each version draws its own weights, so outputs tell them apart."""
    rng = np.random.default_rng(version)
    return [
        (
            rng.standard_normal((rows, cols)).astype(np.float32) / np.float32(np.sqrt(cols)),
            rng.standard_normal(rows).astype(np.float32) * np.float32(0.1),
        )
        for rows, cols in ((8, 4), (3, 8))
    ]


def classifier_weights() -> Weights:
    """A nearest-centroid classifier as one linear layer: score_k = s * (x . c_k - |c_k|^2 / 2)."""
    weight = IRIS_CENTROIDS * np.float32(CLASSIFIER_SHARPNESS)
    bias = -np.float32(CLASSIFIER_SHARPNESS / 2) * (IRIS_CENTROIDS**2).sum(axis=1)
    return [(weight, bias.astype(np.float32))]


def heavy_weight_values(layer: int, rows: int, cols: int) -> np.ndarray:
    """The heavy model's weights as a formula, so its file stays small: the ONNX graph computes the
    same sines from a range when it loads."""
    frequency, phase, scale = heavy_weight_formula(layer, cols)
    positions = np.arange(rows * cols, dtype=np.float32)
    return (np.sin(positions * frequency + phase) * scale).reshape(rows, cols).astype(np.float32)


def heavy_weight_formula(layer: int, cols: int) -> tuple[np.float32, np.float32, np.float32]:
    """(frequency, phase, scale) of layer `layer`'s sine weights."""
    return (
        np.float32(0.37 + 0.11 * layer),
        np.float32(0.5 * layer),
        np.float32(1.0 / np.sqrt(cols)),
    )


def heavy_weights() -> Weights:
    widths = HEAVY_WIDTHS
    return [
        (
            heavy_weight_values(layer, widths[layer + 1], widths[layer]),
            np.zeros(widths[layer + 1], np.float32),
        )
        for layer in range(len(widths) - 1)
    ]


class Affine(nn.Module):
    """y = x W^T + b with the given weights (nn.Linear less the attributes that make TorchScript
    files differ from one save to the next)."""

    def __init__(self, weight: np.ndarray, bias: np.ndarray) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.from_numpy(weight.copy()), requires_grad=False)
        self.bias = nn.Parameter(torch.from_numpy(bias.copy()), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, self.weight, self.bias)


class LinearStack(nn.Module):
    """Affine layers with `activation` between them (none after the last), `final` at the end."""

    def __init__(self, weights: Weights, activation: str, final: str = "none") -> None:
        super().__init__()
        self.layers = nn.ModuleList([Affine(weight, bias) for weight, bias in weights])
        self.activation = activation
        self.final = final

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.layers) - 1
        for index, layer in enumerate(self.layers):
            x = layer(x)
            if index < last:
                x = torch.relu(x) if self.activation == "relu" else torch.tanh(x)
        if self.final == "softmax":
            x = torch.softmax(x, dim=-1)
        return x


def mlp_module(version: int) -> LinearStack:
    return LinearStack(mlp_weights(version), "relu").eval()


def classifier_module() -> LinearStack:
    return LinearStack(classifier_weights(), "relu", final="softmax").eval()


def heavy_module() -> LinearStack:
    return LinearStack(heavy_weights(), "tanh").eval()


def reference(module: nn.Module, inputs: np.ndarray) -> np.ndarray:
    """What the PyTorch definition computes for `inputs`: the expected output of every backend."""
    with torch.inference_mode():
        result: np.ndarray = module(torch.from_numpy(inputs)).numpy()
    return result
