"""A plain ASGI middleware that refuses request bodies over `--max-request-size` with 413."""

from __future__ import annotations

from collections.abc import Callable

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from repository_server.errors import PayloadTooLargeError


def too_large_message(limit: int) -> str:
    return f"request body exceeds the maximum request size of {limit} bytes (--max-request-size)"


class BodySizeLimit:
    """Answers 413 before reading a body whose Content-Length is over the limit, and stops a body
    sent without one (chunked) as soon as it grows past the limit."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, respond: Callable[[Scope, str], Response]
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.respond = respond

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        for key, value in scope["headers"]:
            if key == b"content-length":
                if value.isdigit() and int(value) > limit:
                    await self.respond(scope, too_large_message(limit))(scope, receive, send)
                    return
                break
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLargeError(too_large_message(limit))
            return message

        await self.app(scope, limited_receive, send)
