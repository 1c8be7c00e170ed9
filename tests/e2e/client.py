"""Plain-HTTP calls to a running server, as a user's script would make them."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.server_process import ServerProcess


def infer_request(value: float, rows: int = 1, width: int = 4) -> dict[str, Any]:
    return {
        "inputs": [
            {
                "name": "INPUT0",
                "datatype": "FP32",
                "shape": [rows, width],
                "data": [value] * (rows * width),
            }
        ]
    }


def model_path(model: str, version: int | None = None) -> str:
    path = f"/v2/models/{model}"
    return path if version is None else f"{path}/versions/{version}"


def infer(
    server: ServerProcess,
    model: str,
    version: int | None = None,
    value: float = 0.0,
    client: httpx.Client | None = None,
) -> httpx.Response:
    url = f"{server.inference_url}{model_path(model, version)}/infer"
    return (client or httpx).post(url, json=infer_request(value), timeout=30)


def first_output(response: httpx.Response) -> float:
    assert response.status_code == 200, response.text
    return float(response.json()["outputs"][0]["data"][0])


def output_of(server: ServerProcess, model: str, version: int | None = None) -> float | None:
    """The model's answer to INPUT0 = 0 (its addend), or None when it does not answer."""
    response = infer(server, model, version)
    return first_output(response) if response.status_code == 200 else None


def index(server: ServerProcess, ready: bool | None = None) -> list[dict[str, str]]:
    body = {} if ready is None else {"ready": ready}
    response = httpx.post(f"{server.inference_url}/v2/repository/index", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return list(response.json())


def states(server: ServerProcess, model: str) -> dict[str, tuple[str, str]]:
    """Version -> (state, reason) of one model in the repository index."""
    return {
        entry.get("version", ""): (entry.get("state", ""), entry.get("reason", ""))
        for entry in index(server)
        if entry["name"] == model
    }


def ready_versions(server: ServerProcess, model: str) -> list[str]:
    response = httpx.get(f"{server.inference_url}/v2/models/{model}", timeout=30)
    return list(response.json()["versions"]) if response.status_code == 200 else []


def repository_call(server: ServerProcess, model: str, action: str, **body: Any) -> httpx.Response:
    url = f"{server.inference_url}/v2/repository/models/{model}/{action}"
    return httpx.post(url, json=body, timeout=120)
