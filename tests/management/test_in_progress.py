"""A registration while it loads: the model exists for list and describe, and the other changes
of it (scale, set-default, unregister, a second registration) answer 409 until it is done.

The real management and inference apps over a real ModelServer in this process; the one test
hook is the per-version builder, which waits at the end of the gated model's load until the test
lets it go, so "while it loads" is a state the test holds rather than a race it hopes to win."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from backends.base import LoadedModel
from repository_server.dataplane import DataPlane
from repository_server.http.inference import create_inference_app
from repository_server.http.management import create_management_app
from repository_server.manager.desired import DesiredModel
from repository_server.model_server import ModelServer
from repository_server.server import build_codec
from repository_server.settings import ControlMode, Settings
from tests.management.conftest import add_model_folder, infer_body

pytestmark = pytest.mark.anyio

GATED = "gated"
BEING_REGISTERED = "Model gated is being registered; wait for it to finish"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Gate:
    entered: threading.Event
    release: threading.Event

    def build(self, loaded: LoadedModel, desired: DesiredModel, folder: Path) -> dict[str, Any]:
        if folder.parent.name == GATED:
            self.entered.set()
            self.release.wait(60)
        return build_codec(loaded, desired, folder)

    async def wait_entered(self) -> None:
        assert await asyncio.to_thread(self.entered.wait, 60), "the gated load never started"


@dataclass
class Apps:
    management: httpx.AsyncClient
    inference: httpx.AsyncClient
    gate: Gate


@asynccontextmanager
async def apps(repository: Path) -> AsyncIterator[Apps]:
    gate = Gate(threading.Event(), threading.Event())
    settings = Settings(model_repository=repository, model_control_mode=ControlMode.EXPLICIT)
    server = ModelServer(settings, build_extras=gate.build)
    plane = DataPlane(server)
    await server.start()
    management = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_management_app(plane)), base_url="http://m"
    )
    inference = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_inference_app(plane)), base_url="http://i"
    )
    try:
        yield Apps(management, inference, gate)
    finally:
        gate.release.set()
        await management.aclose()
        await inference.aclose()
        await server.stop()


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["type"], body["message"]


async def test_a_model_being_registered_is_listed_described_and_guarded(tmp_path: Path):
    add_model_folder(tmp_path, GATED, (1, 2), all_versions=True)
    add_model_folder(tmp_path, "other")
    async with apps(tmp_path) as running:
        client = running.management
        registration = asyncio.create_task(client.post(f"/models?url={GATED}&synchronous=true"))
        await running.gate.wait_entered()

        listed = (await client.get("/models")).json()["models"]
        assert {"modelName": GATED, "modelUrl": GATED} in listed
        described = (await client.get(f"/models/{GATED}/all")).json()
        assert {entry["state"] for entry in described} <= {"LOADING", "READY"}
        assert "LOADING" in {entry["state"] for entry in described}

        for method, path in [
            ("PUT", f"/models/{GATED}?min_worker=2"),
            ("PUT", f"/models/{GATED}/1?min_worker=2"),
            ("PUT", f"/models/{GATED}/1/set-default"),
            ("DELETE", f"/models/{GATED}"),
            ("DELETE", f"/models/{GATED}/1"),
            ("POST", f"/models?url={GATED}"),
        ]:
            response = await client.request(method, path)
            assert error_of(response) == (409, "ConflictStatusException", BEING_REGISTERED), (
                method,
                path,
            )
        # Another model is not held up.
        assert (await client.post("/models?url=other")).status_code == 200

        running.gate.release.set()
        response = await registration
        assert response.status_code == 200, response.text
        assert response.json()["status"] == (
            f'Model "{GATED}" Version: 2 registered with 1 initial workers'
        )
        # The refused DELETE broke nothing: the model serves, and can be unregistered now.
        served = await running.inference.post(f"/v2/models/{GATED}/infer", json=infer_body())
        assert served.status_code == 200, served.text
        deleted = await client.delete(f"/models/{GATED}")
        assert deleted.json() == {"status": f'Model "{GATED}" unregistered'}


async def test_a_registration_that_fails_after_some_versions_loaded_leaves_nothing(
    tmp_path: Path,
):
    add_model_folder(tmp_path, GATED, (1,), all_versions=True)
    broken = tmp_path / GATED / "2"
    broken.mkdir()
    (broken / "model.onnx").write_bytes(b"not an onnx model")
    async with apps(tmp_path) as running:
        client = running.management
        registration = asyncio.create_task(client.post(f"/models?url={GATED}"))
        await running.gate.wait_entered()
        running.gate.release.set()
        status, kind, message = error_of(await registration)
        assert (status, kind) == (500, "InternalServerException")
        assert "version 2 is at UNAVAILABLE state" in message

        # Version 1 had loaded; the registration as a whole failed, so it is unloaded too.
        assert error_of(await client.get(f"/models/{GATED}/all"))[:2] == (
            404,
            "ModelNotFoundException",
        )
        assert (await client.get("/models")).json() == {"models": []}
        served = await running.inference.post(f"/predictions/{GATED}", json=infer_body())
        assert served.status_code == 404, served.text
        assert (tmp_path / GATED / "1" / "model.onnx").is_file()  # the repository's folder stays
