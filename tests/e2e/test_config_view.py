"""`GET /v2/models/{m}/config` shows the config in force, also after a change that applies
without reloading (version policy, instance count)."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.client import ready_versions
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e

FAST_POLL = ("--repository-poll-secs", "0.2", "--repository-settle-secs", "0.2")


def config_of(server, model: str, version: int | None = None) -> dict:
    path = f"/v2/models/{model}" + (f"/versions/{version}" if version else "") + "/config"
    response = httpx.get(server.inference_url + path, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def test_an_in_place_change_shows_in_the_config_of_every_version(repository, start_server):
    repository.config("a", version_policy={"all": {}})
    repository.add_version("a", 1)
    repository.add_version("a", 2)
    server = start_server(repository.root, *FAST_POLL)
    assert ready_versions(server, "a") == ["1", "2"]
    assert config_of(server, "a")["instance_group"][0]["count"] == 1

    # Only the policy and the instance count change: nothing reloads, the change applies.
    repository.config(
        "a",
        version_policy={"latest": {"num_versions": 1}},
        instance_group=[{"kind": "KIND_CPU", "count": 2}],
    )
    wait_until(lambda: ready_versions(server, "a") == ["2"])
    for version in (None, 2):
        config = config_of(server, "a", version)
        assert config["version_policy"] == {"latest": {"num_versions": 1}}
        assert config["instance_group"][0]["count"] == 2
