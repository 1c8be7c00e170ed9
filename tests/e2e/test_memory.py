"""Unloading gives memory back: loading and unloading a large model many times does not grow the
server's resident memory without bound."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import models
from tests.e2e.client import output_of, repository_call, states
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e

MODEL_MB = 64
CYCLES = 20


def resident_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc status")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_load_unload_cycles_do_not_grow_memory(repository, start_server):
    source = models.large_model(repository.sources / "large" / "model.onnx", MODEL_MB)
    models.publish_version(repository.root / "large", 1, source)
    server = start_server(repository.root, "--model-control-mode", "explicit")
    assert server.process is not None
    pid = server.process.pid

    def cycle() -> None:
        assert repository_call(server, "large", "load").status_code == 200
        assert output_of(server, "large") == 1.0
        assert repository_call(server, "large", "unload").status_code == 200
        wait_until(lambda: states(server, "large") == {"1": ("UNAVAILABLE", "unloaded")})

    assert repository_call(server, "large", "load").status_code == 200
    loaded = resident_mb(pid)
    assert repository_call(server, "large", "unload").status_code == 200
    wait_until(lambda: states(server, "large") == {"1": ("UNAVAILABLE", "unloaded")})
    unloaded = resident_mb(pid)
    # The test means something only if the model really occupies memory while loaded.
    assert loaded - unloaded > MODEL_MB / 2, (loaded, unloaded)
    cycle()
    after_warm_up = resident_mb(pid)
    for _ in range(CYCLES - 2):
        cycle()
    after_all = resident_mb(pid)
    # Leaking even a quarter of the model per cycle would add over 280 MB here.
    assert after_all - after_warm_up < MODEL_MB, (after_warm_up, after_all)
