"""TorchServe's list-models answer (`GET /models`): the models with a default version, sorted by
name, paged exactly as TorchServe pages them."""

from __future__ import annotations

from typing import Any

from repository_server.management.params import RequestParams
from repository_server.management.registrations import RegistrationBook
from repository_server.manager.manager import ModelManager

DEFAULT_LIMIT = 100


def page_bounds(params: RequestParams) -> tuple[int, int]:
    """`limit` (default 100; over 100 or negative means 100) and `next_page_token` (default 0;
    negative means 0); values that are not integers mean the defaults, as in TorchServe."""
    limit = params.lenient_integer("limit", DEFAULT_LIMIT)
    if limit > DEFAULT_LIMIT or limit < 0:
        limit = DEFAULT_LIMIT
    token = max(params.lenient_integer("next_page_token", 0), 0)
    return limit, token


def list_models(
    manager: ModelManager, book: RegistrationBook, limit: int, token: int
) -> dict[str, Any]:
    """`nextPageToken` appears whenever `token + limit` does not run past the end, so also at
    the exact end, pointing at an empty page (TorchServe's rule)."""
    names = [
        name
        for name in manager.model_names()
        if (record := manager.record(name)) is not None and record.default_version is not None
    ]
    last = token + limit
    document: dict[str, Any] = {}
    if last <= len(names):
        document["nextPageToken"] = str(last)
    document["models"] = [
        {"modelName": name, "modelUrl": book.model_url(name)} for name in names[token:last]
    ]
    return document
