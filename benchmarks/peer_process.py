"""A server process started in its own process group, stopped with the whole group.

TorchServe's launcher starts Java, which starts Python workers; MLServer may fork too. Killing the
group we started (and only it) leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path


def free_port() -> int:
    """A port free right now; peers cannot be told to pick their own and report it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class GroupProcess:
    def __init__(
        self, command: Sequence[str], *, cwd: Path, env: dict[str, str], log: Path
    ) -> None:
        self.command = list(command)
        self.log = log
        self._log_file = log.open("w")
        self.process = subprocess.Popen(
            self.command,
            cwd=cwd,
            env=env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{what}: the process exited with status {self.process.returncode}; "
                    f"log {self.log}:\n{self.log.read_text()[-4000:]}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what}: not ready after {timeout} s; log {self.log}")
            time.sleep(0.2)

    def stop(self, timeout: float = 30) -> None:
        group = self.process.pid  # the group id is the leader's pid (start_new_session)
        try:
            os.killpg(group, signal.SIGTERM)
            self.process.wait(timeout)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(group, signal.SIGKILL)
            self.process.wait(timeout)
        # Children that outlived the leader's exit are still in the group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        self._log_file.close()
