"""Path hygiene before routing.

Trailing slashes: TorchServe drops trailing empty path segments (`/models/` is `/models`);
Triton answers 404 for them. Neither redirects. An encoded slash (`%2F`) is refused: ASGI hands
the router the decoded path, so `/v2/models/m%2Fversions%2F1/infer` would reach a route that a
proxy filtering raw paths never saw; no model name or version contains a slash.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

ENCODED_SLASH_MESSAGE = "an encoded '/' (%2F) is not allowed in a path"


class StripTrailingSlash:
    """Serves `/x/` as `/x`, except under `keep_prefix` (paths there are matched as sent)."""

    def __init__(self, app: ASGIApp, keep_prefix: str | None = None) -> None:
        self.app = app
        self.keep_prefix = keep_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] == "http"
            and len(path) > 1
            and path.endswith("/")
            and not (self.keep_prefix and path.startswith(self.keep_prefix))
        ):
            scope = {**scope, "path": path.rstrip("/") or "/"}
        await self.app(scope, receive, send)


class RefuseEncodedSlash:
    """Answers `respond(scope, message)` (a 404 in the port's form) for a raw path with `%2F`."""

    def __init__(self, app: ASGIApp, respond: Callable[[Scope, str], Response]) -> None:
        self.app = app
        self.respond = respond

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = scope.get("raw_path") or b""
        if scope["type"] == "http" and b"%2f" in raw.lower():
            await self.respond(scope, ENCODED_SLASH_MESSAGE)(scope, receive, send)
            return
        await self.app(scope, receive, send)
