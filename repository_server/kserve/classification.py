"""Triton's `classification` output parameter: the top N entries of an output as BYTES strings
`"<score>:<index>"`, or `"<score>:<index>:<label>"` when the output's label file has a line for
that index, per batch row when the model batches."""

from __future__ import annotations

import numpy as np

from repository_server.errors import InvalidRequestError


def classify(
    name: str, array: np.ndarray, count: int, batched: bool, labels: tuple[str, ...] = ()
) -> np.ndarray:
    """The `count` largest entries of each row, highest first, as an object array of bytes."""
    if array.dtype.kind not in "iuf":
        raise InvalidRequestError(
            f"output '{name}' of dtype {array.dtype} cannot be classified; "
            "'classification' needs a numeric output"
        )
    if batched and array.ndim == 0:
        raise InvalidRequestError(f"output '{name}' has no batch dimension to classify over")
    rows = array.reshape(array.shape[0], -1) if batched else array.reshape(1, -1)
    top = min(count, rows.shape[1])
    # Negating sorts descending while keeping ties in index order; unsigned values are widened
    # first so that negation cannot wrap.
    keys = rows.astype(np.float64) if rows.dtype.kind == "u" else rows
    order = np.argsort(-keys, axis=1, kind="stable")[:, :top]
    scores = np.take_along_axis(rows, order, axis=1).tolist()
    pattern = "{:f}:{}" if rows.dtype.kind == "f" else "{}:{}"
    classes = np.empty(order.shape, dtype=object)
    for row, (row_scores, row_indices) in enumerate(zip(scores, order.tolist(), strict=True)):
        for column, (score, index) in enumerate(zip(row_scores, row_indices, strict=True)):
            text = pattern.format(score, index)
            if index < len(labels):
                text = f"{text}:{labels[index]}"
            classes[row, column] = text.encode()
    return classes if batched else classes.reshape(top)
