"""uvicorn's httptools protocol with the two limits it lacks, on every port.

- The request head (request line and headers) is at most `max_head_bytes`; a longer one is
  answered 431 and the connection closed before the parser buffers it (httptools keeps growing
  a long header in memory, at a cost that rises faster than its size).
- The head must arrive within `head_timeout_secs` of the connection opening or of its first byte
  after a response; a client that sends a partial head and stalls (a slow-loris) is disconnected
  instead of holding a file descriptor for ever. Idle keep-alive connections already close after
  uvicorn's `timeout_keep_alive`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from repository_server.http.errors import is_v2_path

logger = logging.getLogger(__name__)

_HEAD_END = b"\r\n\r\n"


class BoundedHttpProtocol(HttpToolsProtocol):
    # TorchServe (Netty) refuses heads over 8 KiB; 64 KiB leaves room for long tokens and URLs.
    max_head_bytes = 64 * 1024
    head_timeout_secs = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            room = self.max_head_bytes - self._head_bytes
            # The head may end inside this chunk (a body follows it): only bytes before its end
            # count.
            if len(data) > room and data.find(_HEAD_END, 0, max(room, 0) + len(_HEAD_END)) < 0:
                self._refuse_long_head(data)
                return
            self._head_bytes += len(data)
            self._arm_head_timer()
        super().data_received(data)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._cancel_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # What follows on this connection is the next request's head.
        self._in_head = True
        self._head_bytes = 0

    def _arm_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout_secs, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if self._in_head and not self.transport.is_closing():
            logger.info(
                "%s: no complete request head within %g s: connection closed",
                _client(self.client),
                self.head_timeout_secs,
            )
            self.transport.close()

    def _refuse_long_head(self, data: bytes) -> None:
        self._cancel_head_timer()
        message = (
            f"request line and headers exceed {self.max_head_bytes} bytes; "
            "send large values in the body"
        )
        logger.warning("%s: %s (431)", _client(self.client), message)
        # The answer in the form of the path's protocol, as far as the URL has arrived.
        target = getattr(self, "url", b"") or _request_target(data)
        path = target.split(b"?", 1)[0].decode("latin-1")
        if is_v2_path(path):
            document: dict[str, Any] = {"error": message}
        else:
            document = {"code": 431, "type": "BadRequestException", "message": message}
        body = orjson.dumps(document)
        self.transport.write(
            b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
            b"content-type: application/json\r\n"
            b"content-length: " + str(len(body)).encode("ascii") + b"\r\n"
            b"connection: close\r\n\r\n" + body
        )
        self.transport.close()


def _client(address: Any) -> str:
    return f"{address[0]}:{address[1]}" if address else "a client"


def _request_target(data: bytes) -> bytes:
    """The target of a request line at the start of `data` (`POST /v2/... HTTP/1.1`), or b""."""
    parts = data[: data.find(b"\r\n") if b"\r\n" in data[:8192] else 8192].split(b" ")
    return parts[1] if len(parts) >= 2 else b""
