"""The label files a model's outputs name (`label_filename`): one class label per line, line N
for class index N, as Triton reads them. Read once when a version loads."""

from __future__ import annotations

from pathlib import Path

from repository_server.repository.config import ModelConfig


def read_labels(model_folder: Path, config: ModelConfig) -> dict[str, tuple[str, ...]]:
    """Output name -> its labels. Raises ValueError naming the file that cannot be read."""
    labels: dict[str, tuple[str, ...]] = {}
    for output in config.outputs:
        if not output.label_filename:
            continue
        path = model_folder / output.label_filename
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise ValueError(
                f"label_filename {output.label_filename!r} of output '{output.name}' cannot be "
                f"read: {error.strerror or error}"
            ) from None
        except UnicodeDecodeError as error:
            raise ValueError(
                f"label_filename {output.label_filename!r} of output '{output.name}' is not "
                f"UTF-8 text: {error.reason} at byte {error.start}"
            ) from None
        labels[output.name] = tuple(text.splitlines())
    return labels
