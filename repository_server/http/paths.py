"""Trailing slashes: TorchServe drops trailing empty path segments (`/models/` is `/models`);
Triton answers 404 for them. Neither redirects."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send


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
