from pathlib import Path

import pytest

from repository_server.cli import build_settings
from repository_server.errors import ConfigurationError
from repository_server.repository import AllPolicy, SpecificPolicy
from repository_server.settings import ControlMode
from repository_server.snapshots import settings_underlay, snapshot_settings


def test_torchserve_keys_map_onto_settings():
    underlay, unknown = settings_underlay(
        {
            "inference_address": "http://0.0.0.0:9080",
            "management_address": "http://0.0.0.0:9081",
            "metrics_address": "http://0.0.0.0:9082",
            "model_store": "/srv/model-store",
            "load_models": "mlp,resnet=resnet.mar,squeezenet.tar.gz",
            "job_queue_size": "7",
            "default_workers_per_model": "2",
            "default_response_timeout": "30",
            "allowed_urls": "https://s3.amazonaws.com/.*,file://.*",
            "max_request_size": "1000",
        },
        "config.properties",
    )
    assert unknown == []
    assert underlay == {
        "host": "0.0.0.0",
        "http_port": 9080,
        "management_port": 9081,
        "metrics_port": 9082,
        "model_store": Path("/srv/model-store"),
        "load_model": ("mlp", "resnet", "squeezenet"),
        # load_models is TorchServe's way: only what is asked for, then the API decides.
        "model_control_mode": ControlMode.EXPLICIT,
        "job_queue_size": 7,
        "default_workers_per_model": 2,
        "response_timeout": 30.0,
        "allowed_urls": ("https://s3.amazonaws.com/.*", "file://.*"),
        "max_request_size": 1000,
    }
    settings = build_settings({}, underlay)
    assert settings.load_model == ("mlp", "resnet", "squeezenet")


def test_load_models_all_is_star():
    underlay, _ = settings_underlay({"load_models": "ALL"})
    assert underlay["load_model"] == ("*",)


def test_our_own_keys_are_read_by_field_name():
    underlay, unknown = settings_underlay(
        {
            "model_repository": "/srv/models",
            "model_control_mode": "POLL",
            "model_version_policy": '{"all": {}}',
            "repository_poll_secs": "2.5",
            "exit_on_error": "true",
        }
    )
    assert unknown == []
    assert underlay == {
        "model_repository": Path("/srv/models"),
        "model_control_mode": ControlMode.POLL,
        "model_version_policy": AllPolicy(),
        "repository_poll_secs": 2.5,
        "exit_on_error": True,
    }


def test_unknown_keys_are_returned_in_file_order():
    _, unknown = settings_underlay(
        {
            "enable_model_api": "true",
            "job_queue_size": "5",
            "number_of_gpu": "0",
            "model_snapshot": "{}",
            "management_token": "secret",
        }
    )
    # Tokens are never read from a file that may sit in the log folder; model_snapshot is
    # the snapshot itself, not a setting.
    assert unknown == ["enable_model_api", "number_of_gpu", "management_token"]


def test_empty_value_leaves_the_default():
    underlay, unknown = settings_underlay({"model_store": "", "allowed_urls": " "})
    assert underlay == {}
    assert unknown == []


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("job_queue_size", "lots", "invalid literal for int"),
        ("job_queue_size", "0", "0 is less than the minimum of 1"),
        ("default_workers_per_model", "0", "0 is less than the minimum of 1"),
        ("model_control_mode", "sometimes", "expected none, poll or explicit"),
        ("model_version_policy", '{"latest": {}}', "is not a version policy"),
        ("exit_on_error", "maybe", "expected true or false"),
        ("inference_address", "https://127.0.0.1:8443", "https is not supported"),
        ("inference_address", "unix:/tmp/ts.sock", "unix socket addresses are not supported"),
        ("inference_address", "http://127.0.0.1", "the port is missing"),
        ("inference_address", "http://127.0.0.1:99999", "not a number from 0 to 65535"),
        ("inference_address", "127.0.0.1:8080", "expected http://HOST:PORT"),
        ("allowed_urls", "https://(unclosed.*", "is not a regular expression"),
        ("load_models", "../etc", "'../etc' is not a model name"),
    ],
)
def test_bad_values_name_the_key_and_the_file(key, value, message):
    with pytest.raises(ConfigurationError) as raised:
        settings_underlay({key: value}, "/etc/ts/config.properties")
    text = str(raised.value)
    assert text.startswith(f"/etc/ts/config.properties: {key}={value!r}: ")
    assert message in text


def test_one_address_off_loopback_alone_is_refused():
    # Binding management on 0.0.0.0 because only inference_address asked for it would widen
    # TorchServe's meaning of the file.
    with pytest.raises(ConfigurationError) as raised:
        settings_underlay({"inference_address": "http://0.0.0.0:8080"}, "config.properties")
    assert str(raised.value) == (
        "config.properties: inference_address binds 0.0.0.0, management_address binds "
        "127.0.0.1 (TorchServe's default), metrics_address binds 127.0.0.1 (TorchServe's "
        "default); this server binds one host for every port, so give the three addresses the "
        "same host"
    )


def test_loopback_address_alone_is_fine():
    underlay, _ = settings_underlay({"management_address": "http://127.0.0.1:9001"})
    assert underlay == {"management_port": 9001, "host": "127.0.0.1"}


def test_keys_that_disagree_are_refused():
    with pytest.raises(ConfigurationError, match="inference_address and http_port disagree"):
        settings_underlay({"inference_address": "http://127.0.0.1:8080", "http_port": "9000"})


def test_settings_round_trip_through_snapshot_keys(tmp_path):
    original = build_settings(
        {
            "model_repository": tmp_path / "models",
            "model_control_mode": ControlMode.EXPLICIT,
            "model_version_policy": SpecificPolicy(frozenset({1, 3})),
            "host": "::1",
            "http_port": 9000,
            "model_store": tmp_path / "store",
            "allowed_urls": ("https://a\\.example/.*", "https://b\\.example/x{1,3}"),
            "exit_on_error": True,
            "repository_poll_secs": 0.25,
            "snapshot_keep": 5,
        }
    )
    written = snapshot_settings(original)
    assert written["inference_address"] == "http://[::1]:9000"
    # A regex holding a comma cannot go in a comma list: the list is written as JSON.
    assert written["allowed_urls"] == '["https://a\\\\.example/.*", "https://b\\\\.example/x{1,3}"]'
    underlay, unknown = settings_underlay(written)
    assert unknown == []
    assert build_settings({}, underlay) == original


def test_secrets_and_start_only_values_are_not_written():
    settings = build_settings(
        {
            "management_token": "m-secret",
            "inference_token": "i-secret",
            "model_control_mode": ControlMode.EXPLICIT,
            "load_model": ("mlp",),
            "ts_config": Path("x.properties"),
        }
    )
    written = snapshot_settings(settings)
    assert not {"management_token", "inference_token", "load_model", "ts_config"} & set(written)
    assert "secret" not in "".join(written.values())
