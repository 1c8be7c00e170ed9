"""Label files are read when a version loads; an unreadable one names itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from repository_server.kserve.labels import read_labels
from repository_server.repository.config import ModelConfig, TensorConfig


def config_with_labels(file_name: str) -> ModelConfig:
    outputs = (
        TensorConfig(name="PROBS", datatype="FP32", dims=(3,), label_filename=file_name),
        TensorConfig(name="LOGITS", datatype="FP32", dims=(3,)),
    )
    return ModelConfig(name="m", outputs=outputs)


def test_one_label_per_line_for_outputs_that_name_a_file(tmp_path: Path):
    (tmp_path / "labels.txt").write_text("cat\ndog\r\nbird\n")
    assert read_labels(tmp_path, config_with_labels("labels.txt")) == {
        "PROBS": ("cat", "dog", "bird")
    }


def test_a_file_that_is_not_text_names_the_file_and_output(tmp_path: Path):
    (tmp_path / "labels.txt").write_bytes(b"cat\n\xff\xfe\n")
    with pytest.raises(ValueError, match=r"label_filename 'labels.txt' of output 'PROBS' is not"):
        read_labels(tmp_path, config_with_labels("labels.txt"))


def test_a_missing_file_names_the_file(tmp_path: Path):
    with pytest.raises(ValueError, match=r"'gone.txt' of output 'PROBS' cannot be read"):
        read_labels(tmp_path, config_with_labels("gone.txt"))
