"""Every error case of TorchServe's management tables that applies to us, with its status, type
and message (405 for the control mode and 400 for bad numbers are our deliberate differences)."""

from __future__ import annotations

import pytest

from tests.management.conftest import Deployment, add_model_folder, error_of

pytestmark = pytest.mark.e2e

NOT_FOUND = (404, "ResourceNotFoundException")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", (400, "BadRequestException", "Parameter url is required.")),
        (
            "url=mlp&runtime=InvalidRuntime",
            (400, "BadRequestException", "Invalid RuntimeType value: InvalidRuntime"),
        ),
        ("url=", (404, "ModelNotFoundException", "empty url")),
        (
            "url=../fake.mar",
            (404, "ModelNotFoundException", "Relative path is not allowed in url: ../fake.mar"),
        ),
        ("url=/etc/fake.mar", (404, "ModelNotFoundException", "Absolute path")),
        ("url=fake.mar", (404, "ModelNotFoundException", "Model not found at: fake.mar")),
        ("url=missing_folder", (404, "ModelNotFoundException", "Model not found at: missing_")),
        ("url=file:///etc/passwd.zip", (400, "BadRequestException", "Unsupported URL scheme")),
        ("url=mlp&initial_workers=many", (400, "BadRequestException", "Parameter initial_w")),
    ],
)
def test_register_refuses_bad_urls_and_parameters(explicit: Deployment, query, expected):
    status, kind, message = error_of(explicit.torchserve.management("POST", f"/models?{query}"))
    assert (status, kind) == expected[:2]
    assert message.startswith(expected[2]), message


def test_register_refuses_urls_outside_allowed_urls(explicit: Deployment):
    assert explicit.files is not None
    url = explicit.files.url("/elsewhere/model.zip")
    assert error_of(explicit.torchserve.management("POST", "/models", params={"url": url})) == (
        404,
        "ModelNotFoundException",
        f"Given URL {url} does not match any allowed URL(s)",
    )
    assert "/elsewhere/model.zip" not in explicit.files.requested


def test_register_reports_a_failed_download(explicit: Deployment):
    assert explicit.files is not None
    url = explicit.files.url("/allowed/absent.zip")  # allowed, but the file server has none
    status, kind, message = error_of(
        explicit.torchserve.management("POST", "/models", params={"url": url})
    )
    assert (status, kind) == (400, "DownloadArchiveException")
    assert message.startswith(f"Failed to download archive from: {url}")
    assert not (explicit.repository / "absent").exists()


def test_register_twice_is_a_conflict(explicit: Deployment):
    add_model_folder(explicit.repository, "twice", (1, 3))
    ts = explicit.torchserve
    ts.register("url=twice")
    assert error_of(ts.management("POST", "/models?url=twice")) == (
        409,
        "ConflictStatusException",
        "Model version 3 is already registered for model twice",
    )


def test_a_model_that_fails_to_load_answers_500_with_the_cause(explicit: Deployment):
    folder = explicit.repository / "broken" / "1"
    folder.mkdir(parents=True)
    (folder / "model.onnx").write_bytes(b"not an onnx model")
    status, kind, message = error_of(explicit.torchserve.management("POST", "/models?url=broken"))
    assert (status, kind) == (500, "InternalServerException")
    assert "broken" in message and "model.onnx" in message


def test_describe_customized_needs_a_worker(explicit: Deployment):
    add_model_folder(explicit.repository, "idle_described", (1, 2), all_versions=True)
    ts = explicit.torchserve
    ts.register("url=idle_described")
    scaled = ts.management("PUT", "/models/idle_described/2?min_worker=0&synchronous=true")
    assert scaled.status_code == 200, scaled.text
    assert error_of(ts.management("GET", "/models/idle_described?customized=true")) == (
        503,
        "ServiceUnavailableException",
        'Model "idle_described" has no worker to serve describe request. '
        "Please use scale workers API to add workers.",
    )
    # Version 1 still has its worker; `all` never carries customized metadata.
    (one,) = ts.describe("/models/idle_described/1?customized=true")
    assert one["customizedMetadata"]["backend"] == "onnxruntime"
    everything = ts.describe("/models/idle_described/all?customized=true")
    assert [entry["modelVersion"] for entry in everything] == ["1", "2"]
    assert all("customizedMetadata" not in entry for entry in everything)


@pytest.mark.parametrize("synchronous", ["true", "false"])
def test_register_refuses_batches_for_a_model_that_does_not_batch(explicit, synchronous):
    add_model_folder(explicit.repository, f"unbatched_{synchronous}", batching=False)
    query = f"url=unbatched_{synchronous}&batch_size=4&synchronous={synchronous}"
    # Found before an asynchronous registration would answer 202.
    status, kind, message = error_of(explicit.torchserve.management("POST", f"/models?{query}"))
    assert (status, kind) == (400, "BadRequestException")
    assert f"model unbatched_{synchronous} does not batch" in message


def test_register_refuses_a_model_name_other_than_the_folder(explicit: Deployment):
    add_model_folder(explicit.repository, "named")
    status, _, message = error_of(
        explicit.torchserve.management("POST", "/models?url=named&model_name=other")
    )
    assert status == 400 and "differs from the repository folder" in message


def test_scale_errors(explicit: Deployment):
    add_model_folder(explicit.repository, "scaled")
    ts = explicit.torchserve
    ts.register("url=scaled")
    assert error_of(ts.management("PUT", "/models/scaled?min_worker=3&max_worker=2")) == (
        400,
        "BadRequestException",
        "max_worker cannot be less than min_worker.",
    )
    assert error_of(ts.management("PUT", "/models/fake?min_worker=1")) == (
        404,
        "ModelNotFoundException",
        "Model not found: fake",
    )
    assert error_of(ts.management("PUT", "/models/scaled/7?min_worker=1")) == (
        404,
        "ModelVersionNotFoundException",
        "Model version: 7 does not exist for model: scaled",
    )
    status, _, message = error_of(ts.management("PUT", "/models/scaled?min_worker=-1"))
    assert status == 400 and "min_worker must be at least 0" in message
    status, _, message = error_of(ts.management("PUT", "/models/scaled/v1?min_worker=1"))
    assert status == 400 and "Invalid model version 'v1'" in message


def test_describe_errors(explicit: Deployment):
    add_model_folder(explicit.repository, "looked_up")
    ts = explicit.torchserve
    ts.register("url=looked_up")
    assert error_of(ts.management("GET", "/models/InvalidModel")) == (
        404,
        "ModelNotFoundException",
        "Model not found: InvalidModel",
    )
    assert error_of(ts.management("GET", "/models/looked_up/3.0")) == (
        404,
        "ModelVersionNotFoundException",
        "Model version: 3 does not exist for model: looked_up",
    )


def test_unregister_errors(explicit: Deployment):
    add_model_folder(explicit.repository, "kept", (1, 2), all_versions=True)
    ts = explicit.torchserve
    ts.register("url=kept")
    assert error_of(ts.management("DELETE", "/models/fake")) == (
        404,
        "ModelNotFoundException",
        "Model not found: fake",
    )
    assert error_of(ts.management("DELETE", "/models/kept/9")) == (
        404,
        "ModelVersionNotFoundException",
        "Model version: 9 does not exist for model: kept",
    )
    assert error_of(ts.management("DELETE", "/models/kept/2.0")) == (
        403,
        "InvalidModelVersionException",
        "Cannot remove default version for model kept",
    )
    assert ts.output("kept", 2) == 2.0  # refused: still served


def test_set_default_errors(explicit: Deployment):
    add_model_folder(explicit.repository, "pinned")
    ts = explicit.torchserve
    ts.register("url=pinned")
    assert error_of(ts.management("PUT", "/models/fake/1/set-default")) == (
        404,
        "ModelNotFoundException",
        "Model not found: fake",
    )
    assert error_of(ts.management("PUT", "/models/pinned/3.3/set-default"))[0] == 400
    assert error_of(ts.management("PUT", "/models/pinned/3.0/set-default")) == (
        404,
        "ModelVersionNotFoundException",
        "Model version 3 does not exist for model pinned",
    )


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/nothing", NOT_FOUND),
        ("GET", "/models/a/b/c/d", NOT_FOUND),
        ("PATCH", "/models", (405, "MethodNotAllowedException")),
        ("POST", "/models/mlp", (405, "MethodNotAllowedException")),
        ("GET", "/", (405, "MethodNotAllowedException")),
    ],
)
def test_unknown_paths_and_methods(explicit: Deployment, method, path, expected):
    status, kind, message = error_of(explicit.torchserve.management(method, path))
    assert (status, kind) == expected
    word = "resource is not found" if status == 404 else "method is not allowed"
    assert message == f"Requested {word}, please refer to API document."


def test_a_body_over_the_request_size_limit_answers_413(explicit: Deployment):
    body = b"{" + b" " * 6_553_500 + b"}"
    response = explicit.torchserve.management(
        "POST", "/models", content=body, headers={"Content-Type": "application/json"}
    )
    assert error_of(response)[0] == 413
