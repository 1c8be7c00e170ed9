"""ModelManager.report_unavailable: a model that serves nothing shows why, until it is applied."""

from __future__ import annotations

import pytest

from repository_server.errors import NoVersionAvailableError

pytestmark = pytest.mark.anyio

REASON = "named by config snapshot x.cfg but not in the model repository"


async def test_an_unknown_model_is_reported_unavailable_with_the_reason(harness):
    harness.manager.report_unavailable("gone", REASON)

    assert harness.states("gone") == {None: ("UNAVAILABLE", REASON)}
    with pytest.raises(NoVersionAvailableError):
        harness.manager.get("gone")


async def test_a_later_load_replaces_the_reason(harness, repository):
    harness.manager.report_unavailable("m", REASON)
    repository.add_version("m", 1)

    await harness.sync("m")

    assert harness.states("m") == {1: ("READY", "")}


async def test_the_repository_losing_the_model_forgets_it(harness):
    harness.manager.report_unavailable("gone", REASON)

    await harness.sync("gone")  # POLL mode applies a model whose folder is gone like this

    assert harness.manager.record("gone") is None


async def test_a_serving_model_is_left_alone(harness, repository):
    repository.add_version("m", 1)
    await harness.sync("m")

    harness.manager.report_unavailable("m", REASON)

    assert harness.states("m") == {1: ("READY", "")}
    assert await harness.infer("m") == 1.0
