"""A real HTTP server in a thread on 127.0.0.1 that serves bytes and redirects from a table."""

from __future__ import annotations

import http.server
import threading
from dataclasses import dataclass, field
from types import TracebackType


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    # False: send no Content-Length and end the body by closing the connection.
    content_length: bool = True


class FileServer:
    """Serves `replies[path]`, 404 for anything else, and records every path asked for."""

    def __init__(self) -> None:
        self.replies: dict[str, Reply] = {}
        self.requested: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requested.append(self.path)
                reply = server.replies.get(self.path, Reply(404, b"not here"))
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.content_length:
                    self.send_header("Content-Length", str(len(reply.body)))
                else:
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(reply.body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        # A short poll interval: shutdown() waits for the serving loop to notice it.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def serve(self, path: str, body: bytes, *, content_length: bool = True) -> str:
        self.replies[path] = Reply(200, body, content_length=content_length)
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        self.replies[path] = Reply(status, b"", {"Location": location})
        return self.url(path)

    def __enter__(self) -> FileServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
