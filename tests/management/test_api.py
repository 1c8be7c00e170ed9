"""The API description of both ports (validated, and every route in it answering), token auth,
trailing slashes and Triton's repository endpoints on the management port."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from tests.management.conftest import (
    INFERENCE_TOKEN,
    MANAGEMENT_TOKEN,
    Deployment,
    add_model_folder,
    error_of,
    torchserve_body,
)

pytestmark = pytest.mark.e2e

PORTS = ("management", "inference")
# Calls that remove what later calls use go last.
DESTRUCTIVE = ("delete", "unload")
PLACEHOLDER = re.compile(r"{([a-z_]+)}")


def description(deployment: Deployment, port: str) -> dict[str, Any]:
    """The OpenAPI document of a port, fetched without a token as TorchServe allows."""
    response = httpx.request("OPTIONS", deployment.server.url(port) + "/", timeout=30)
    assert response.status_code == 200, response.text
    document = torchserve_body(response)
    validate(document)
    assert document["openapi"] == "3.0.1"
    return document


def test_each_port_describes_its_routes_without_a_token(explicit: Deployment):
    management = description(explicit, "management")
    assert {
        "/models",
        "/models/{model_name}",
        "/models/{model_name}/{model_version}",
        "/models/{model_name}/{model_version}/set-default",
        "/v2/repository/index",
        "/v2/repository/models/{model}/load",
        "/",
    } <= set(management["paths"])
    assert set(management["paths"]["/models"]) == {"get", "post"}
    assert set(management["paths"]["/models/{model_name}"]) == {"get", "put", "delete", "options"}
    summary = management["paths"]["/models"]["post"]["summary"]
    assert summary.startswith("Register a model")

    inference = description(explicit, "inference")
    assert {"/ping", "/predictions/{model_name}", "/v2/models/{model}/infer", "/"} <= set(
        inference["paths"]
    )
    assert "/models" not in inference["paths"]
    again = httpx.get(explicit.server.management_url + "/api-description", timeout=30)
    assert torchserve_body(again) == management


def _operations(document: dict[str, Any]) -> list[tuple[str, str]]:
    calls = [
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method != "options"
    ]
    return sorted(calls, key=lambda call: any(word in call[0] + call[1] for word in DESTRUCTIVE))


def _router_refusal(response: httpx.Response) -> bool:
    """The router's own 404 or 405: the route does not exist for that method."""
    if response.status_code == 405:
        return True
    if response.status_code != 404:
        return False
    body = response.json()
    return body.get("type") == "ResourceNotFoundException" or body == {"error": "Not Found"}


def test_every_route_in_the_descriptions_answers(explicit: Deployment):
    add_model_folder(explicit.repository, "probe", (1, 2), all_versions=True)
    ts = explicit.torchserve
    ts.register("url=probe")
    values = {
        "model_name": "probe",
        "model_version": "1",
        "model": "probe",
        "version": "1",
        "repository": "default",
        "action": "load",
    }
    for port in PORTS:
        call = ts.management if port == "management" else ts.inference
        for method, path in _operations(description(explicit, port)):
            url = PLACEHOLDER.sub(lambda match: values[match.group(1)], path)
            # Model control (load, unload) needs the management token on every port.
            control = url.endswith(("/load", "/unload"))
            headers = {"Authorization": f"Bearer {MANAGEMENT_TOKEN}"} if control else {}
            response = call(method.upper(), url, headers=headers)
            assert not _router_refusal(response), (port, method, url, response.text)
            # 501: Triton's named repositories, which we answer as Triton's own server does.
            assert response.status_code < 500 or response.status_code == 501, (port, url)


def test_one_model_s_description_names_it(explicit: Deployment):
    add_model_folder(explicit.repository, "one_described", (1, 2), all_versions=True)
    ts = explicit.torchserve
    ts.register("url=one_described")
    for port, path, expected in [
        (
            "management",
            "/models/one_described",
            {
                "/models/one_described": {"get", "put", "delete"},
                "/models/one_described/{model_version}": {"get", "put", "delete"},
                "/models/one_described/{model_version}/set-default": {"put"},
            },
        ),
        (
            "management",
            "/models/one_described/2.0",
            {"/models/one_described": {"get", "put", "delete"}},
        ),
        (
            "inference",
            "/predictions/one_described",
            {
                "/predictions/one_described": {"post"},
                "/predictions/one_described/{model_version}": {"post"},
            },
        ),
    ]:
        call = ts.management if port == "management" else ts.inference
        response = call("OPTIONS", path)
        assert response.status_code == 200, response.text
        document = torchserve_body(response)
        validate(document)
        paths = {name: set(item) for name, item in document["paths"].items()}
        assert {name: paths.get(name) for name in expected} == expected, paths
        assert all(name.startswith(path.split("/2.0")[0]) for name in paths)
        parameters = [
            parameter["name"]
            for item in document["paths"].values()
            for operation in item.values()
            for parameter in operation.get("parameters", ())
        ]
        assert "model_name" not in parameters


@pytest.mark.parametrize(
    ("port", "path", "message"),
    [
        ("management", "/models/nobody", "Model not found: nobody"),
        ("inference", "/predictions/nobody", "Model not found: nobody"),
        (
            "management",
            "/models/options_versioned/9",
            "Model version: 9 does not exist for model: options_versioned",
        ),
    ],
)
def test_describing_an_unknown_model_or_version_is_404(explicit: Deployment, port, path, message):
    ts = explicit.torchserve
    if ts.management("GET", "/models/options_versioned").status_code == 404:
        add_model_folder(explicit.repository, "options_versioned")
        ts.register("url=options_versioned")
    call = ts.management if port == "management" else ts.inference
    status, _, text = error_of(call("OPTIONS", path))
    assert (status, text) == (404, message)


def test_tokens_guard_both_ports(explicit: Deployment):
    management = explicit.server.management_url + "/models"
    ping = explicit.server.inference_url + "/ping"
    for url, headers in [
        (management, {}),
        (management, {"Authorization": "Bearer wrong"}),
        (management, {"Authorization": f"Bearer {INFERENCE_TOKEN}"}),
        (ping, {}),
        (ping, {"Authorization": f"Bearer {MANAGEMENT_TOKEN}"}),
        (ping, {"Authorization": f"Token {INFERENCE_TOKEN}"}),
    ]:
        response = httpx.get(url, headers=headers, timeout=30)
        status, kind, message = error_of(response)
        assert (status, kind) == (401, "InvalidKeyException"), (url, headers)
        assert message.startswith("Token Authorization failed")
        assert response.headers["www-authenticate"].startswith("Bearer")
    good = httpx.get(ping, headers={"Authorization": f"Bearer {INFERENCE_TOKEN}"}, timeout=30)
    assert torchserve_body(good) == {"status": "Healthy"}


def test_trailing_slashes_are_ignored(explicit: Deployment):
    add_model_folder(explicit.repository, "slashed")
    ts = explicit.torchserve
    assert ts.status(ts.management("POST", "/models/?url=slashed")).startswith('Model "slashed"')
    (with_slash,) = ts.describe("/models/slashed/")
    (without,) = ts.describe("/models/slashed")
    for entry in (with_slash, without):
        for worker in entry["workers"]:
            del worker["memoryUsage"]  # the process's RSS moves between two calls
    assert with_slash == without


def test_triton_repository_endpoints_on_the_management_port(explicit: Deployment):
    add_model_folder(explicit.repository, "triton_loaded")
    ts = explicit.torchserve
    response = ts.management("POST", "/v2/repository/models/triton_loaded/load")
    assert response.status_code == 200, response.text
    index = ts.management("POST", "/v2/repository/index", json={"ready": True}).json()
    assert {"name": "triton_loaded", "version": "1", "state": "READY"} in index
    assert ts.describe("/models/triton_loaded")[0]["state"] == "READY"
    missing = ts.management("POST", "/v2/repository/models/absent/load")
    assert missing.status_code == 400
    assert set(missing.json()) == {"error"}
    assert ts.management("GET", "/v2/repository/index").json() == {"error": "Method Not Allowed"}
