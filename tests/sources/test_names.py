from __future__ import annotations

import pytest

from repository_server.errors import InvalidRequestError
from repository_server.sources import parse_version_text, validate_model_name


@pytest.mark.parametrize("name", ["mlp", "resnet-50", "squeezenet1_1", "v1.2", "A", "a" * 255])
def test_valid_model_names_pass_unchanged(name: str) -> None:
    assert validate_model_name(name) == name


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "may not be empty"),
        (".", "not starting with '.'"),
        ("..", "not starting with '.'"),
        (".hidden", "not starting with '.'"),
        ("a/b", "letters, digits"),
        ("../etc", "letters, digits"),
        ("/etc", "letters, digits"),
        ("a\\b", "letters, digits"),
        ("a b", "letters, digits"),
        ("mlp%2F..", "letters, digits"),
        ("__pycache__", "reserved"),
        ("a" * 256, "longer than 255"),
    ],
)
def test_bad_model_names_are_refused_with_the_name_and_the_rule(name: str, why: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        validate_model_name(name)
    assert caught.value.status == 400
    assert "Invalid model name" in caught.value.message
    assert (repr(name) if len(name) <= 255 else name[:40]) in caught.value.message
    assert why in caught.value.message


@pytest.mark.parametrize(
    ("text", "version"), [("1", 1), ("2", 2), ("2.0", 2), ("2.00", 2), ("10", 10), ("10.0", 10)]
)
def test_plain_and_torchserve_versions(text: str, version: int) -> None:
    assert parse_version_text(text) == version


@pytest.mark.parametrize(
    "text", ["", "0", "0.0", "02", "2.5", "2.", ".0", "v2", "-1", " 2", "1.0.0"]
)
def test_bad_versions_name_the_text(text: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        parse_version_text(text)
    assert repr(text) in caught.value.message
    assert caught.value.status == 400
