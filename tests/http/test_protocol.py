"""The request-head limits every port adds to uvicorn: size (431) and time (disconnect)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from repository_server.http.protocol import BoundedHttpProtocol
from tests.waiting import wait_until


class SmallLimits(BoundedHttpProtocol):
    max_head_bytes = 1024
    head_timeout_secs = 0.3


async def echo_length(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(len(await request.body())))


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    app = Starlette(routes=[Route("/", echo_length, methods=["POST"])])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, http=SmallLimits, log_config=None, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    wait_until(lambda: server.started, timeout=10)
    yield server.servers[0].sockets[0].getsockname()[1]
    server.should_exit = True
    thread.join(10)


def exchange(port: int, data: bytes) -> bytes:
    """Sends `data`, then reads until the server closes or answers one response."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(data)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.split(b"\r\n\r\n", 1)[1]:
            chunk = connection.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def post(body: bytes, extra_header: bytes = b"") -> bytes:
    return (
        b"POST / HTTP/1.1\r\nHost: x\r\n"
        + extra_header
        + b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


def test_a_head_over_the_limit_is_refused_with_431(port):
    answer = exchange(port, post(b"", b"X-Big: " + b"a" * 2000 + b"\r\n"))
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")
    assert b"request line and headers exceed 1024 bytes" in answer
    # The port serves on.
    assert exchange(port, post(b"abc")).endswith(b"\r\n\r\n3")


def test_a_large_body_after_a_small_head_is_not_the_head(port):
    body = b"b" * 100_000
    assert exchange(port, post(body)).endswith(b"\r\n\r\n100000")


def test_a_head_that_stalls_is_disconnected(port):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")  # and nothing more
        assert connection.recv(1024) == b""  # closed by the server, well before the 10 s
