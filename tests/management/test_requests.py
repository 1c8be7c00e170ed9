"""Reading management requests: parameters, register and scale requests, config overrides and
paging bounds, each with the error a bad value gets."""

from __future__ import annotations

import pytest

from repository_server.errors import InvalidRequestError
from repository_server.management import RegisterRequest, RequestParams, ScaleRequest
from repository_server.management.listing import next_page_token, page_bounds
from repository_server.management.register import config_override
from repository_server.repository.config import DynamicBatching, ModelConfig


def test_integers_come_from_strings_or_json_numbers():
    params = RequestParams({"a": "3", "b": 4, "c": " 5 "})
    assert [params.integer(k, 0) for k in "abc"] == [3, 4, 5]
    assert params.integer("missing", 7) == 7


@pytest.mark.parametrize("value", ["three", "1.5", "", "--2", True, 2.5, ["1"]])
def test_an_integer_parameter_that_is_not_one_is_named_in_the_error(value):
    with pytest.raises(InvalidRequestError, match="Parameter workers must be an integer"):
        RequestParams({"workers": value}).integer("workers", 1)


def test_an_integer_under_its_minimum_is_refused():
    with pytest.raises(
        InvalidRequestError, match="Parameter min_worker must be at least 0, not -2"
    ):
        RequestParams({"min_worker": "-2"}).integer("min_worker", 1, minimum=0)


def test_only_true_is_true_as_in_torchserve():
    params = RequestParams({"a": "true", "b": "TRUE", "c": "yes", "d": "false", "e": True})
    assert [params.flag(k, False) for k in "abcde"] == [True, True, False, False, True]
    assert params.flag("missing", True) is True


def test_paging_follows_torchserve():
    assert page_bounds(RequestParams({})) == (100, 0)
    assert page_bounds(RequestParams({"limit": "2", "next_page_token": "4"})) == (2, 4)
    assert page_bounds(RequestParams({"limit": "101"})) == (100, 0)
    assert page_bounds(RequestParams({"limit": "-1", "next_page_token": "-5"})) == (100, 0)
    assert page_bounds(RequestParams({"limit": "x", "next_page_token": "y"})) == (100, 0)
    assert page_bounds(RequestParams({"limit": "0"})) == (0, 0)


@pytest.mark.parametrize(
    ("token", "limit", "total", "expected"),
    [
        (0, 2, 5, "2"),
        (2, 2, 5, "4"),
        (4, 2, 5, None),  # the last page
        (3, 2, 5, None),  # ends exactly at the end: no token to an empty page
        (0, 100, 7, None),
        (9, 2, 5, None),  # past the end
        (0, 0, 5, None),  # limit=0 would hand out the same token forever
    ],
)
def test_a_next_page_token_only_when_a_next_page_holds_models(token, limit, total, expected):
    assert next_page_token(token, limit, total) == expected


def test_register_request_defaults():
    request = RegisterRequest.parse(RequestParams({"url": "mlp"}))
    assert request == RegisterRequest(url="mlp", synchronous=True)
    assert request.intended_name() == "mlp"


def test_register_request_reads_every_torchserve_parameter():
    request = RegisterRequest.parse(
        RequestParams(
            {
                "url": "https://example.com/store/squeezenet.tar.gz",
                "batch_size": "4",
                "max_batch_delay": "50",
                "initial_workers": "0",
                "synchronous": "false",
                "response_timeout": "7",
                "handler": "image_classifier",
                "runtime": "PYTHON",
            }
        )
    )
    assert request.intended_name() == "squeezenet"
    assert (request.batch_size, request.max_batch_delay_ms, request.initial_workers) == (4, 50, 0)
    assert (request.synchronous, request.response_timeout) == (False, 7)
    assert (request.handler, request.runtime) == ("image_classifier", "python")
    named = RegisterRequest.parse(RequestParams({"url": "a.mar", "model_name": "b"}))
    assert named.intended_name() == "b"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "Parameter url is required."),
        ({"url": "m", "runtime": "InvalidRuntime"}, "Invalid RuntimeType value: InvalidRuntime"),
        (
            {"url": "m", "batch_size": "0"},
            "Parameter batch_size must be at least 1 (or -1 for the default), not 0",
        ),
        (
            {"url": "m", "max_batch_delay": "-5"},
            "Parameter max_batch_delay must be at least 0 (or -100 for the default), not -5",
        ),
        (
            {"url": "m", "response_timeout": "0"},
            "Parameter response_timeout must be at least 1 (or -1 for the default), not 0",
        ),
        ({"url": "m", "initial_workers": "-1"}, "Parameter initial_workers must be at least 0"),
        ({"url": "m", "response_timeout": "soon"}, "Parameter response_timeout must be an integer"),
    ],
)
def test_register_request_errors(params, message):
    with pytest.raises(InvalidRequestError) as caught:
        RegisterRequest.parse(RequestParams(params))
    assert caught.value.message.startswith(message)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"batch_size": "-1"}, (None, None, None)),
        ({"batch_size": "abc"}, (None, None, None)),  # TorchServe: not an integer -> default
        ({"batch_size": "2.5"}, (None, None, None)),
        ({"max_batch_delay": "-100"}, (None, None, None)),
        ({"response_timeout": "-1"}, (None, None, None)),
        ({"batch_size": -1, "max_batch_delay": -100, "response_timeout": -1}, (None, None, None)),
        ({"batch_size": "4", "max_batch_delay": "0", "response_timeout": "1"}, (4, 0, 1)),
    ],
)
def test_torchserve_s_use_the_default_values_mean_not_given(params, expected):
    request = RegisterRequest.parse(RequestParams({"url": "m", **params}))
    assert (request.batch_size, request.max_batch_delay_ms, request.response_timeout) == expected


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"batch_size": "-2"}, "Parameter batch_size must be at least 1 (or -1 for the default)"),
        ({"max_batch_delay": "soon"}, "Parameter max_batch_delay must be an integer"),
        ({"response_timeout": "-5"}, "Parameter response_timeout must be at least 1 (or -1"),
    ],
)
def test_other_values_under_the_minimum_stay_refused(params, message):
    with pytest.raises(InvalidRequestError) as caught:
        RegisterRequest.parse(RequestParams({"url": "m", **params}))
    assert caught.value.message.startswith(message)


def test_only_a_repository_folder_or_a_given_name_is_final():
    assert RegisterRequest(url="mlp").name_is_final()
    assert RegisterRequest(url="a.mar", model_name="b").name_is_final()
    # An archive's manifest may name its model.
    assert not RegisterRequest(url="a.mar").name_is_final()
    assert not RegisterRequest(url="https://example.com/x/a.tar.gz").name_is_final()


def test_scale_request_defaults_and_errors():
    assert ScaleRequest.parse(RequestParams({})) == ScaleRequest(1, 1, False, None)
    assert ScaleRequest.parse(
        RequestParams({"min_worker": "2", "max_worker": "5", "synchronous": "true", "timeout": "3"})
    ) == ScaleRequest(2, 5, True, 3.0)
    with pytest.raises(InvalidRequestError, match=r"max_worker cannot be less than min_worker\."):
        ScaleRequest.parse(RequestParams({"min_worker": "3", "max_worker": "2"}))


BATCHING = ModelConfig(name="mlp", max_batch_size=8)
PLAIN = ModelConfig(name="classifier")


def test_no_override_when_nothing_is_asked():
    assert config_override(BATCHING, RegisterRequest(url="mlp")) is None
    assert config_override(PLAIN, RegisterRequest(url="classifier", batch_size=1)) is None


def test_batch_size_and_delay_override_a_batching_config():
    override = config_override(
        BATCHING, RegisterRequest(url="mlp", batch_size=4, max_batch_delay_ms=50)
    )
    assert override is not None
    assert override.max_batch_size == 4
    assert override.dynamic_batching == DynamicBatching(max_queue_delay_microseconds=50_000)
    # batch_size alone turns on dynamic batching with TorchServe's 100 ms default delay.
    only_size = config_override(BATCHING, RegisterRequest(url="mlp", batch_size=2))
    assert only_size is not None and only_size.dynamic_batching == DynamicBatching(100_000)


def test_response_timeout_becomes_a_parameter():
    override = config_override(PLAIN, RegisterRequest(url="classifier", response_timeout=9))
    assert override is not None and override.parameters["response_timeout"] == "9"


def test_batch_size_over_one_for_a_model_that_does_not_batch_is_refused():
    with pytest.raises(InvalidRequestError, match="model classifier does not batch"):
        config_override(PLAIN, RegisterRequest(url="classifier", batch_size=4))
