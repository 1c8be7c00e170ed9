"""TorchServe's "use the default" values at registration, and a registration with no workers,
which TorchServe always answers 200 once the model is registered."""

from __future__ import annotations

import pytest

from tests.management.conftest import Deployment, add_model_folder, error_of

pytestmark = pytest.mark.e2e


def test_the_default_sentinels_register_with_the_model_s_own_values(explicit: Deployment):
    add_model_folder(explicit.repository, "sentinels")
    ts = explicit.torchserve
    assert ts.register(
        "url=sentinels&batch_size=-1&max_batch_delay=-100&response_timeout=-1"
    ).startswith('Model "sentinels" Version: 1 registered')
    (described,) = ts.describe("/models/sentinels")
    # The config's own values (max_batch_size 8, no dynamic batching) and the server default.
    assert (described["batchSize"], described["maxBatchDelay"]) == (8, 0)
    assert described["responseTimeout"] == 120


def test_a_batch_size_that_is_no_integer_means_the_default(explicit: Deployment):
    add_model_folder(explicit.repository, "lenient", batching=False)
    ts = explicit.torchserve
    # For a model that does not batch, any batch_size over 1 would be a 400.
    assert ts.register("url=lenient&batch_size=abc").startswith('Model "lenient" Version: 1')


def test_values_under_the_minimum_stay_clear_errors(explicit: Deployment):
    add_model_folder(explicit.repository, "strict")
    ts = explicit.torchserve
    for query, message in [
        ("batch_size=0", "Parameter batch_size must be at least 1 (or -1 for the default), not 0"),
        (
            "max_batch_delay=-5",
            "Parameter max_batch_delay must be at least 0 (or -100 for the default), not -5",
        ),
        (
            "response_timeout=0",
            "Parameter response_timeout must be at least 1 (or -1 for the default), not 0",
        ),
    ]:
        assert error_of(ts.management("POST", f"/models?url=strict&{query}")) == (
            400,
            "BadRequestException",
            message,
        )


def test_no_initial_workers_answers_200_also_asynchronously(explicit: Deployment):
    add_model_folder(explicit.repository, "unstaffed")
    ts = explicit.torchserve
    assert ts.register("url=unstaffed&synchronous=false&initial_workers=0") == (
        'Model "unstaffed" Version: 1 registered with 0 initial workers. '
        "Use scale workers API to add workers for the model."
    )
    (described,) = ts.describe("/models/unstaffed")
    assert (described["state"], described["workers"]) == ("READY", [])
