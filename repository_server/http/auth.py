"""Optional bearer-token auth for a port: `Authorization: Bearer <token>`, else 401.

TorchServe answers a failed token check with 400 InvalidKeyException; we answer 401 with the same
body shape and a `WWW-Authenticate: Bearer` header, as HTTP intends. Tokens come from
`--management-token`/`--inference-token` or a `--token-file`; binding beyond loopback without one
is logged loudly (TorchServe's ShellTorch chain started with an open management port).

Model control is management on every port: when a management token is set, Triton's load and
unload routes need it on the inference port too, so an inference token allows inference only.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from repository_server.errors import ConfigurationError, UnauthorizedError
from repository_server.http.errors import is_v2_path, torchserve_headers, v2_error
from repository_server.settings import Settings

logger = logging.getLogger(__name__)

TOKEN_KEYS = ("management", "inference")
# TorchServe's key_file.json also holds the key of its token API, which we do not have.
_IGNORED_KEYS = frozenset({"API"})
# RFC 6750's b64token: what can follow `Bearer ` in a header.
_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_BEARER = re.compile(r"bearer +(\S+) *", re.IGNORECASE)

MISSING = "the request has no 'Authorization: Bearer <token>' header"
MALFORMED = "the Authorization header is not 'Bearer <token>'"
WRONG = "the bearer token is not the token of this port"
WRONG_FOR_CONTROL = "the bearer token is not the management token"
CONTROL_NEEDS = "loading and unloading models needs the management token, on every port"

# Answered without a token on every port, as TorchServe answers them before its token check:
# `OPTIONS /`, and `/api-description` whatever the method ("*").
OPEN_ROUTES = (("OPTIONS", "/"), ("*", "/api-description"))
# Triton's model control (load, unload; with or without a repository name): the index only reads.
_CONTROL_PREFIX = "/v2/repository/"
_MODEL_CONTROL = re.compile(r"/v2/repository/(?:[^/]+/)?models/[^/]+/[^/]+/?")


def is_model_control(path: str) -> bool:
    """True for Triton's load and unload routes, which change what the server serves."""
    return path.startswith(_CONTROL_PREFIX) and _MODEL_CONTROL.fullmatch(path) is not None


class TokenAuth:
    """ASGI middleware: every HTTP or WebSocket request needs the bearer `token`; None: no check.

    `exempt` holds (method, path) pairs answered without a token, such as ("OPTIONS", "/") for
    the API description, as TorchServe does; method "*" exempts the path whatever the method.
    `control_token`, when set, is the token model control (load, unload) needs instead of
    `token`: the management token, on the inference port.
    """

    def __init__(
        self,
        app: ASGIApp,
        token: str | None,
        *,
        exempt: Collection[tuple[str, str]] = (),
        realm: str = "repository-server",
        control_token: str | None = None,
    ) -> None:
        self.app = app
        self._token = token.encode() if token is not None else None
        self._control_token = control_token.encode() if control_token is not None else None
        self._open_paths = frozenset(path for method, path in exempt if method == "*")
        self._exempt = frozenset((method.upper(), path) for method, path in exempt if method != "*")
        self._realm = realm

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (self._token is None and self._control_token is None) or scope["type"] not in (
            "http",
            "websocket",
        ):
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path in self._open_paths or (scope.get("method", "GET"), path) in self._exempt:
            await self.app(scope, receive, send)
            return
        if self._control_token is not None and is_model_control(path):
            problem = _problem(scope, self._control_token, WRONG_FOR_CONTROL)
            if problem is not None:
                problem = f"{problem}; {CONTROL_NEEDS}"
        elif self._token is not None:
            problem = _problem(scope, self._token, WRONG)
        else:
            problem = None
        if problem is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008, "reason": problem})
        else:
            await self._refusal(problem, is_v2_path(scope["path"]))(scope, receive, send)

    def _refusal(self, problem: str, v2: bool) -> Response:
        """401 in the form of the path's protocol: Triton's `{"error"}` under /v2 (tritonclient
        reads it), TorchServe's envelope elsewhere."""
        error = UnauthorizedError(f"Token Authorization failed: {problem}")
        challenge = f'Bearer realm="{self._realm}"'
        if problem.startswith((WRONG, WRONG_FOR_CONTROL)):
            challenge += ', error="invalid_token"'
        if v2:
            response = v2_error(error.message, error.status)
            response.headers["WWW-Authenticate"] = challenge
            return response
        document = {"code": error.status, "type": error.torchserve_type, "message": error.message}
        return Response(
            orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n",
            status_code=error.status,
            media_type="application/json",
            headers=torchserve_headers(**{"WWW-Authenticate": challenge}),
        )


def _problem(scope: Scope, token: bytes, wrong: str) -> str | None:
    """Why the request may not pass `token`; None when it carries it. `wrong`: what to say when
    it carries another token."""
    values = [value for name, value in scope["headers"] if name == b"authorization"]
    if not values:
        return MISSING
    match = _BEARER.fullmatch(values[0].decode("latin-1"))
    if len(values) > 1 or match is None:
        return MALFORMED
    # Constant time: the comparison must not tell how much of a guess was right.
    if not hmac.compare_digest(match.group(1).encode("latin-1"), token):
        return wrong
    return None


def _checked_token(token: Any, where: str) -> str:
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        raise ConfigurationError(
            f"{where}: a token is a non-empty string of letters, digits and -._~+/ "
            f"(optionally ending in '='), got {token!r}"
        )
    return token


def _read_token_file(path: Path) -> dict[str, str]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigurationError(f"--token-file {path}: cannot be read: {error}") from None
    except ValueError as error:
        raise ConfigurationError(f"--token-file {path}: not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise ConfigurationError(
            f'--token-file {path}: expected an object {{"management": "...", "inference": "..."}}'
        )
    tokens: dict[str, str] = {}
    for key, value in document.items():
        if key in _IGNORED_KEYS:
            continue
        if key not in TOKEN_KEYS:
            raise ConfigurationError(
                f"--token-file {path}: unknown key {key!r} (expected management or inference)"
            )
        # TorchServe's key_file.json nests the token: {"management": {"key": "..."}}.
        token = value.get("key") if isinstance(value, dict) else value
        tokens[key] = _checked_token(token, f"--token-file {path}: key {key!r}")
    if not tokens:
        raise ConfigurationError(
            f"--token-file {path}: names neither a management nor an inference token"
        )
    if path.stat().st_mode & 0o077:
        logger.warning("--token-file %s can be read by other users; chmod 600 it", path)
    return tokens


def load_tokens(settings: Settings) -> tuple[str | None, str | None]:
    """The (management, inference) tokens; None where that port needs none.

    A `--management-token`/`--inference-token` flag wins over the same key of `--token-file`.
    Raises ConfigurationError naming the flag, or the file and the key, that is wrong.
    """
    from_file = _read_token_file(settings.token_file) if settings.token_file else {}
    management = settings.management_token
    inference = settings.inference_token
    if management is not None:
        _checked_token(management, "--management-token")
    if inference is not None:
        _checked_token(inference, "--inference-token")
    return (
        management if management is not None else from_file.get("management"),
        inference if inference is not None else from_file.get("inference"),
    )


def is_loopback(host: str) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1); False for 0.0.0.0 and names."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def warn_if_exposed(host: str, token: str | None, *, port: str = "the server") -> bool:
    """Logs a warning and returns True when `port` binds beyond loopback without a token."""
    if token is not None or is_loopback(host):
        return False
    logger.warning(
        "%s binds %s without a token: anyone who can reach that address can use it; bind "
        "127.0.0.1 or set a token (--management-token, --inference-token or --token-file)",
        port,
        host,
    )
    return True
