"""TorchServe's list-models answer (`GET /models`): every model describe knows (serving,
loading, being registered or failed), sorted by name, paged as TorchServe pages them but
without its token at the exact end of the list."""

from __future__ import annotations

from typing import Any

from repository_server.management.lookup import described_rows
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


def next_page_token(token: int, limit: int, total: int) -> str | None:
    """The token of the next page, only when that page holds a model: none at the end of the
    list (TorchServe's points at an empty page there) and none for `limit=0`, whose token would
    never move a client following it."""
    last = token + limit
    return str(last) if limit > 0 and last < total else None


def listed_names(manager: ModelManager, book: RegistrationBook) -> list[str]:
    """The models describe answers for (a registration's among them from when its folder is
    found)."""
    known = {name for name in manager.model_names() if described_rows(manager.record(name))}
    return sorted(known.union(book.registering_names()))


def list_models(
    manager: ModelManager, book: RegistrationBook, limit: int, token: int
) -> dict[str, Any]:
    names = listed_names(manager, book)
    document: dict[str, Any] = {}
    following = next_page_token(token, limit, len(names))
    if following is not None:
        document["nextPageToken"] = following
    document["models"] = [
        {"modelName": name, "modelUrl": book.model_url(name)}
        for name in names[token : token + limit]
    ]
    return document
