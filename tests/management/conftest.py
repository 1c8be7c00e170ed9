"""The real CLI over temporary repositories, for the management API tests.

Starting a server costs seconds on a small machine, so the package shares two: one in EXPLICIT
mode with token auth, a model store and an HTTP file server for downloads, and one in POLL mode.
Tests on the shared server each use their own model folders, so none depends on another's order.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from tests import models
from tests.e2e.server_process import ServerProcess
from tests.sources.file_server import FileServer
from tests.waiting import wait_until

MANAGEMENT_TOKEN = "management-secret"
INFERENCE_TOKEN = "inference-secret"
ALLOWED_PREFIX = "/allowed/"
START_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def add_model_folder(
    root: Path,
    name: str,
    versions: tuple[int, ...] = (1,),
    *,
    batching: bool = True,
    all_versions: bool = False,
) -> Path:
    """A model folder whose version N answers INPUT0 + N (FP32 [batch, 4])."""
    folder = root / name
    for version in versions:
        models.add_model(folder / str(version) / "model.onnx", float(version))
    if batching or all_versions:
        extra: dict[str, Any] = {"version_policy": {"all": {}}} if all_versions else {}
        document = models.add_model_config(8 if batching else 0, **extra)
        models.write_config(folder, document)
    return folder


def torchserve_body(response: httpx.Response) -> Any:
    """The JSON body, after checking TorchServe's envelope: JSON content type, a fresh
    x-request-id, the no-cache headers and a body pretty-printed with 2 spaces and a trailing
    newline."""
    assert response.headers["content-type"].startswith("application/json"), response.text
    uuid.UUID(response.headers["x-request-id"])
    assert response.headers["pragma"] == "no-cache"
    assert response.headers["cache-control"] == "no-cache; no-store, must-revalidate, private"
    assert response.headers["expires"] == "Thu, 01 Jan 1970 00:00:00 UTC"
    document = response.json()
    assert response.text == json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return document


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    """(status, type, message) of a TorchServe error answer, checking the code matches."""
    body = torchserve_body(response)
    assert body["code"] == response.status_code, body
    return response.status_code, body["type"], body["message"]


def infer_body(value: float = 0.0) -> dict[str, Any]:
    return {
        "inputs": [{"name": "INPUT0", "datatype": "FP32", "shape": [1, 4], "data": [value] * 4}]
    }


class TorchServe:
    """Calls as TorchServe users' scripts make them, with this server's tokens."""

    def __init__(
        self, server: ServerProcess, management_token: str | None, inference_token: str | None
    ) -> None:
        self.server = server
        self.client = httpx.Client(timeout=60)
        self._management = _auth(management_token)
        self._inference = _auth(inference_token)

    def management(self, method: str, path: str, **options: Any) -> httpx.Response:
        headers = {**self._management, **options.pop("headers", {})}
        url = self.server.management_url + path
        return self.client.request(method, url, headers=headers, **options)

    def inference(self, method: str, path: str, **options: Any) -> httpx.Response:
        headers = {**self._inference, **options.pop("headers", {})}
        url = self.server.inference_url + path
        return self.client.request(method, url, headers=headers, **options)

    def status(self, response: httpx.Response) -> str:
        body = torchserve_body(response)
        assert set(body) == {"status"}, body
        return str(body["status"])

    def register(self, query: str, expected: int = 200) -> str:
        response = self.management("POST", f"/models?{query}")
        assert response.status_code == expected, response.text
        return self.status(response)

    def describe(self, path: str) -> list[dict[str, Any]]:
        response = self.management("GET", path)
        assert response.status_code == 200, response.text
        body = torchserve_body(response)
        assert isinstance(body, list)
        return body

    def output(self, model: str, version: int | None = None, value: float = 0.0) -> float:
        """OUTPUT0[0] of a v2 inference: the version number plus `value` for these models."""
        path = f"/v2/models/{model}" + (f"/versions/{version}" if version else "") + "/infer"
        response = self.inference("POST", path, json=infer_body(value))
        assert response.status_code == 200, response.text
        outputs = {out["name"]: out for out in response.json()["outputs"]}
        return float(np.asarray(outputs["OUTPUT0"]["data"])[0])

    def wait_described(self, path: str, condition: Any, timeout: float = 60) -> list[dict]:
        def check() -> list[dict]:
            response = self.management("GET", path)
            if response.status_code != 200:
                return []
            body = torchserve_body(response)
            return body if condition(body) else []

        return wait_until(check, timeout, message=f"GET {path} to satisfy {condition}")

    def close(self) -> None:
        self.client.close()


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def _wait_ready(server: ServerProcess, token: str | None) -> None:
    server.wait_ports()

    def ready() -> bool:
        try:
            response = httpx.get(
                f"{server.inference_url}/v2/health/ready", headers=_auth(token), timeout=5
            )
        except httpx.TransportError:
            return False
        return response.status_code == 200

    wait_until(ready, 60, message=f"the server to be ready\n{server.log}")


@dataclass
class Deployment:
    server: ServerProcess
    torchserve: TorchServe
    repository: Path
    store: Path
    files: FileServer | None = None


@pytest.fixture(scope="package")
def files() -> Iterator[FileServer]:
    with FileServer() as server:
        yield server


@pytest.fixture(scope="package")
def explicit(tmp_path_factory: pytest.TempPathFactory, files: FileServer) -> Iterator[Deployment]:
    """EXPLICIT mode, tokens on both ports, a model store and one allowed download prefix."""
    root = tmp_path_factory.mktemp("explicit")
    repository, store = root / "repository", root / "store"
    repository.mkdir()
    store.mkdir()
    server = ServerProcess(
        repository,
        [
            "--model-control-mode",
            "explicit",
            "--model-store",
            str(store),
            "--allowed-urls",
            re.escape(files.url(ALLOWED_PREFIX)) + r"[a-z_]+\.zip",
            "--management-token",
            MANAGEMENT_TOKEN,
            "--inference-token",
            INFERENCE_TOKEN,
        ],
        log_location=root / "logs",
    )
    server.start(wait_ready=False)
    torchserve = TorchServe(server, MANAGEMENT_TOKEN, INFERENCE_TOKEN)
    try:
        _wait_ready(server, INFERENCE_TOKEN)
        yield Deployment(server, torchserve, repository, store, files)
    finally:
        torchserve.close()
        if server.process is not None and server.process.poll() is None:
            server.stop()
