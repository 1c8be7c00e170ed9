"""Bearer-token auth in front of a real Starlette app, token loading and the exposure warning."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from repository_server.errors import ConfigurationError
from repository_server.http.auth import (
    MISSING,
    OPEN_ROUTES,
    TokenAuth,
    is_model_control,
    load_tokens,
    warn_if_exposed,
)
from repository_server.settings import Settings

TOKEN = "s3cret-Token_1"


async def models(request: Request) -> PlainTextResponse:
    return PlainTextResponse("models")


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.close()


APP = Starlette(
    routes=[
        Route("/models", models, methods=["GET", "POST"]),
        Route("/", models, methods=["GET", "OPTIONS"]),
        Route("/api-description", models, methods=["GET", "OPTIONS", "POST", "PUT", "DELETE"]),
        Route("/v2/repository/index", models, methods=["POST"]),
        Route("/v2/repository/models/{model}/{action}", models, methods=["POST"]),
        Route("/v2/repository/{repository}/models/{model}/{action}", models, methods=["POST"]),
        WebSocketRoute("/ws", echo),
    ]
)


class Client:
    """Requests through httpx's ASGI transport into `TokenAuth(APP, token)`."""

    def __init__(self, token: str | None, **options: Any) -> None:
        self.app = TokenAuth(APP, token, **options)

    def request(
        self, method: str, path: str, headers: list[tuple[str, str]] | dict[str, str] | None = None
    ) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                return await http.request(method, path, headers=headers)

        return asyncio.run(send())

    def get(self, path: str, **options: Any) -> httpx.Response:
        return self.request("GET", path, **options)

    def post(self, path: str, **options: Any) -> httpx.Response:
        return self.request("POST", path, **options)

    def options(self, path: str, **options: Any) -> httpx.Response:
        return self.request("OPTIONS", path, **options)

    def messages(
        self, scope: dict[str, Any], incoming: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Runs one raw ASGI connection (websocket, lifespan) and returns what the app sent."""
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return incoming.pop(0)

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(dict(message))

        asyncio.run(self.app(scope, receive, send))
        return sent


def client(token: str | None, **options: Any) -> Client:
    return Client(token, **options)


def websocket_scope(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "websocket",
        "path": "/ws",
        "raw_path": b"/ws",
        "query_string": b"",
        "headers": headers,
        "scheme": "ws",
        "server": ("test", 80),
        "client": ("c", 1),
        "root_path": "",
        "subprotocols": [],
        "asgi": {"version": "3.0"},
    }


def test_without_a_token_every_request_passes() -> None:
    assert client(None).get("/models").text == "models"


def test_the_right_token_passes() -> None:
    response = client(TOKEN).post("/models", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert response.text == "models"


def test_the_scheme_is_case_insensitive() -> None:
    response = client(TOKEN).get("/models", headers={"Authorization": f"bearer {TOKEN}"})
    assert response.status_code == 200


def test_a_missing_token_is_a_torchserve_shaped_401() -> None:
    response = client(TOKEN).get("/models")

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/json"
    assert response.headers["www-authenticate"] == 'Bearer realm="repository-server"'
    assert len(response.headers["x-request-id"]) == 36
    message = (
        "Token Authorization failed: the request has no 'Authorization: Bearer <token>' header"
    )
    expected = {"code": 401, "type": "InvalidKeyException", "message": message}
    assert response.text == json.dumps(expected, indent=2) + "\n"


@pytest.mark.parametrize("token", ["wrong", TOKEN[:-1], TOKEN + "x", TOKEN.upper()])
def test_a_wrong_token_is_refused(token: str) -> None:
    response = client(TOKEN).get("/models", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.json()["message"].endswith("the bearer token is not the token of this port")
    assert response.headers["www-authenticate"].endswith('error="invalid_token"')


@pytest.mark.parametrize(
    "header", [TOKEN, f"Basic {TOKEN}", "Bearer", "Bearer ", f"Bearer {TOKEN} extra"]
)
def test_a_malformed_header_is_refused(header: str) -> None:
    response = client(TOKEN).get("/models", headers={"Authorization": header})
    assert response.status_code == 401
    assert "is not 'Bearer <token>'" in response.json()["message"]


def test_two_authorization_headers_are_refused() -> None:
    headers = [("Authorization", f"Bearer {TOKEN}"), ("Authorization", "Bearer other")]
    response = client(TOKEN).get("/models", headers=headers)
    assert response.status_code == 401


def test_exempt_method_and_path_pass_without_a_token() -> None:
    open_description = client(TOKEN, exempt=[("options", "/")])
    assert open_description.options("/").status_code == 200
    assert open_description.get("/").status_code == 401
    assert open_description.options("/models").status_code == 401


def test_lifespan_events_pass_through() -> None:
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}}
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent = client(TOKEN).messages(scope, incoming)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_a_websocket_without_the_token_is_closed() -> None:
    sent = client(TOKEN).messages(websocket_scope([]), [{"type": "websocket.connect"}])
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": MISSING}]


def test_a_websocket_with_the_token_connects() -> None:
    headers = [(b"authorization", f"Bearer {TOKEN}".encode())]
    incoming: list[dict[str, Any]] = [
        {"type": "websocket.connect"},
        {"type": "websocket.disconnect", "code": 1000},
    ]
    sent = client(TOKEN).messages(websocket_scope(headers), incoming)
    assert sent[0]["type"] == "websocket.accept"


# Loading tokens.


def token_file(tmp_path: Path, document: object, mode: int = 0o600) -> Path:
    path = tmp_path / "key_file.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    path.chmod(mode)
    return path


def test_no_tokens_by_default() -> None:
    assert load_tokens(Settings()) == (None, None)


def test_tokens_from_flags() -> None:
    settings = Settings(management_token="m-token", inference_token="i-token")
    assert load_tokens(settings) == ("m-token", "i-token")


def test_tokens_from_a_file(tmp_path: Path) -> None:
    path = token_file(tmp_path, {"management": "m-token"})
    assert load_tokens(Settings(token_file=path)) == ("m-token", None)


def test_torchserve_key_files_are_read(tmp_path: Path) -> None:
    document = {
        "management": {"key": "B-E5KSRM", "expiration time": "2024-02-16T21:12:24.801167Z"},
        "inference": {"key": "gNRuA7dS", "expiration time": "2024-02-16T21:12:24.801167Z"},
        "API": {"key": "yv9uQajP"},
    }
    path = token_file(tmp_path, document)
    assert load_tokens(Settings(token_file=path)) == ("B-E5KSRM", "gNRuA7dS")


def test_a_flag_wins_over_the_file(tmp_path: Path) -> None:
    path = token_file(tmp_path, {"management": "from-file", "inference": "i-file"})
    settings = Settings(token_file=path, management_token="from-flag")
    assert load_tokens(settings) == ("from-flag", "i-file")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", "not valid JSON"),
        (["management"], "expected an object"),
        ({}, "names neither a management nor an inference token"),
        ({"managment": "x"}, "unknown key 'managment'"),
        ({"management": ""}, "key 'management': a token is a non-empty string"),
        ({"inference": "has space"}, "key 'inference': a token is a non-empty string"),
        ({"inference": 12345}, "key 'inference'"),
        ({"management": {"value": "x"}}, "key 'management'"),
    ],
)
def test_bad_token_files_name_the_file_and_key(
    tmp_path: Path, document: object, message: str
) -> None:
    path = token_file(tmp_path, document)
    with pytest.raises(ConfigurationError) as caught:
        load_tokens(Settings(token_file=path))
    assert f"--token-file {path}" in str(caught.value)
    assert message in str(caught.value)


def test_a_missing_token_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "absent.json"
    with pytest.raises(ConfigurationError, match=re.escape("absent.json: cannot be read")):
        load_tokens(Settings(token_file=path))


@pytest.mark.parametrize(("flag", "value"), [("management_token", ""), ("inference_token", "a b")])
def test_bad_token_flags_are_named(flag: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match="--" + flag.replace("_", "-")):
        load_tokens(Settings(**{flag: value}))  # type: ignore[arg-type]


def test_a_token_file_others_can_read_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = token_file(tmp_path, {"management": "m"}, mode=0o644)
    with caplog.at_level(logging.WARNING):
        load_tokens(Settings(token_file=path))
    assert "can be read by other users" in caplog.text


# Exposure warning.


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"])
def test_loopback_hosts_are_not_warned_about(host: str, caplog: pytest.LogCaptureFixture) -> None:
    assert not warn_if_exposed(host, None)
    assert caplog.text == ""


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.5", "example.com"])
def test_exposed_hosts_without_a_token_are_warned_about(
    host: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        assert warn_if_exposed(host, None, port="the management port")
    assert f"the management port binds {host} without a token" in caplog.text


def test_an_exposed_host_with_a_token_is_fine(caplog: pytest.LogCaptureFixture) -> None:
    assert not warn_if_exposed("0.0.0.0", TOKEN)
    assert caplog.text == ""


@pytest.mark.parametrize("method", ["GET", "OPTIONS", "POST", "PUT", "DELETE"])
def test_api_description_is_open_whatever_the_method(method: str) -> None:
    guarded = client(TOKEN, exempt=OPEN_ROUTES)
    assert guarded.request(method, "/api-description").status_code == 200
    assert guarded.options("/").status_code == 200
    assert guarded.get("/").status_code == 401
    assert guarded.post("/models").status_code == 401


INFERENCE = "inference-Token"
MANAGEMENT = "management-Token"
CONTROL_PATHS = [
    "/v2/repository/models/mlp/load",
    "/v2/repository/models/mlp/unload",
    "/v2/repository/models/mlp/load/",
    "/v2/repository/default/models/mlp/load",
]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("path", CONTROL_PATHS)
def test_model_control_recognises_load_and_unload_paths(path: str) -> None:
    assert is_model_control(path)


@pytest.mark.parametrize(
    "path", ["/v2/repository/index", "/v2/repository/default/index", "/v2/models/mlp/infer"]
)
def test_reading_the_index_and_inference_are_not_model_control(path: str) -> None:
    assert not is_model_control(path)


@pytest.mark.parametrize("path", CONTROL_PATHS)
def test_model_control_needs_the_management_token_not_the_inference_one(path: str) -> None:
    inference_port = client(INFERENCE, control_token=MANAGEMENT)
    refused = inference_port.post(path, headers=bearer(INFERENCE))
    assert refused.status_code == 401
    # Under /v2 in Triton's form (tritonclient reads `error`).
    assert refused.json() == {
        "error": "Token Authorization failed: the bearer token is not the management token; "
        "loading and unloading models needs the management token, on every port",
    }
    assert refused.headers["www-authenticate"].endswith('error="invalid_token"')
    allowed = inference_port.post(path, headers=bearer(MANAGEMENT))
    assert allowed.status_code in (200, 307)  # 307: the trailing slash is redirected


def test_a_control_request_without_a_token_is_told_which_one_it_needs() -> None:
    refused = client(INFERENCE, control_token=MANAGEMENT).post("/v2/repository/models/m/load")
    assert refused.status_code == 401
    assert refused.json()["error"] == (
        f"Token Authorization failed: {MISSING}; "
        "loading and unloading models needs the management token, on every port"
    )


def test_the_inference_token_still_reads_the_index_and_infers() -> None:
    inference_port = client(INFERENCE, control_token=MANAGEMENT)
    assert inference_port.post("/v2/repository/index", headers=bearer(INFERENCE)).text == "models"
    assert inference_port.get("/models", headers=bearer(INFERENCE)).status_code == 200
    # The management token is not the inference port's token for anything else.
    assert inference_port.get("/models", headers=bearer(MANAGEMENT)).status_code == 401


def test_without_an_inference_token_only_model_control_is_guarded() -> None:
    inference_port = client(None, control_token=MANAGEMENT)
    assert inference_port.get("/models").status_code == 200
    assert inference_port.post("/v2/repository/index").status_code == 200
    assert inference_port.post("/v2/repository/models/m/unload").status_code == 401
    allowed = inference_port.post("/v2/repository/models/m/unload", headers=bearer(MANAGEMENT))
    assert allowed.status_code == 200


def test_without_a_management_token_the_port_token_guards_model_control() -> None:
    inference_port = client(INFERENCE)
    assert inference_port.post("/v2/repository/models/m/load").status_code == 401
    allowed = inference_port.post("/v2/repository/models/m/load", headers=bearer(INFERENCE))
    assert allowed.status_code == 200
