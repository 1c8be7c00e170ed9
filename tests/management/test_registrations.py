"""The registration book: what a snapshot records of a registration and gives back after a
restart, and the changes under way that other calls wait for."""

from __future__ import annotations

from pathlib import Path

import pytest

from repository_server.errors import ConflictError, InvalidRequestError
from repository_server.management.registrations import Change, Registration, RegistrationBook
from repository_server.sources import ModelSource, SourceKind


def registration(tmp_path: Path, **extra: str) -> Registration:
    source = ModelSource("clf", tmp_path / "clf", "clf.mar", SourceKind.MODEL_STORE)
    return Registration(source, **extra)


def test_handler_and_runtime_survive_a_snapshot_round_trip(tmp_path: Path):
    fields = registration(tmp_path, handler="foo:bar", runtime="python").snapshot_fields()
    assert fields == {
        "modelUrl": "clf.mar",
        "sourceKind": "model_store",
        "handler": "foo:bar",
        "runtimeType": "python",
    }
    book = RegistrationBook()
    book.restore("clf", tmp_path / "clf", fields)
    restored = book.get("clf")
    assert restored == registration(tmp_path, handler="foo:bar", runtime="python")
    assert restored is not None and restored.source.unpacked  # unregister removes its folder
    assert book.model_url("clf") == "clf.mar"


def test_a_restored_repository_model_keeps_its_folder(tmp_path: Path):
    book = RegistrationBook()
    book.restore("mlp", tmp_path / "mlp", {"handler": "h"})
    restored = book.get("mlp")
    assert restored is not None and restored.handler == "h"
    assert restored.source.kind is SourceKind.REPOSITORY and not restored.source.unpacked
    assert book.model_url("mlp") == "mlp"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"handler": 5}, "model clf: handler must be a string, not 5"),
        ({"sourceKind": "ftp"}, "model clf: sourceKind 'ftp' is not one of repository, "),
    ],
)
def test_unusable_snapshot_fields_are_named(tmp_path: Path, fields, message):
    with pytest.raises(InvalidRequestError) as caught:
        RegistrationBook().restore("clf", tmp_path / "clf", fields)
    assert caught.value.message.startswith(message)


def test_a_change_under_way_refuses_others_until_it_ends():
    book = RegistrationBook()
    book.begin("m", Change.REGISTERING)
    with pytest.raises(ConflictError, match="Model m is being registered; wait for it to finish"):
        book.begin("m", Change.UNREGISTERING)
    book.end("m")
    book.begin("m", Change.UNREGISTERING)
    with pytest.raises(ConflictError, match="Model m is being unregistered"):
        book.refuse_while_changing("m")
    book.refuse_while_changing("other")  # other models are not held up


def test_only_registrations_whose_folder_was_found_are_listed(tmp_path: Path):
    book = RegistrationBook()
    book.begin("clf", Change.REGISTERING)
    assert book.registering_names() == []  # its URL is still being resolved
    book.add(registration(tmp_path))
    assert book.registering_names() == ["clf"]
    book.end("clf")
    assert book.registering_names() == []
