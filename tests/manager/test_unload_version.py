"""ModelManager.unload_version: one version leaves, the others keep serving."""

from __future__ import annotations

import pytest

from repository_server.errors import (
    ModelNotFoundError,
    VersionNotFoundError,
    VersionNotReadyError,
)
from repository_server.repository import AllPolicy

pytestmark = pytest.mark.anyio


async def test_unloads_one_version_and_the_others_keep_serving(harness, repository):
    for version in (1, 2, 3):
        repository.add_version("m", version)
    await harness.sync("m", AllPolicy())
    harness.manager.set_default("m", 2)
    harness.manager.scale("m", 2, 2, 4)

    await harness.manager.unload_version("m", 2)

    with pytest.raises(VersionNotReadyError):  # unloading, then unloaded: no longer served
        harness.manager.get("m", 2)
    assert sorted(harness.manager.record("m").ready) == [1, 3]
    # The pinned default went with its version: the highest READY one is the default again.
    assert await harness.infer("m") == 3.0
    assert await harness.infer("m", 1) == 1.0
    assert ("m", 2) not in harness.manager.worker_overrides
    assert ("m", 2) not in harness.manager.max_workers
    await harness.drained()
    assert harness.states("m")[2] == ("UNAVAILABLE", "unloaded")


async def test_refuses_unknown_models_and_versions(harness, repository):
    repository.add_version("m", 1)
    await harness.sync("m")
    with pytest.raises(ModelNotFoundError):
        await harness.manager.unload_version("nothing", 1)
    with pytest.raises(VersionNotFoundError):
        await harness.manager.unload_version("m", 7)
    assert await harness.infer("m") == 1.0
