"""The real `repository-server` CLI in a subprocess on free ports, for end-to-end tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import httpx

from tests.waiting import wait_until

_BOUND = re.compile(r"(inference|management|metrics) on http://([^:]+):(\d+)")


class ServerProcess:
    """Starts the CLI with `--*-port 0` (the OS picks free ports) and reads the bound ports from
    its log, so tests never race for a port."""

    def __init__(
        self,
        repository: Path,
        args: Sequence[str] = (),
        *,
        log_location: Path,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
        ports: bool = True,
    ) -> None:
        self.repository = repository
        self.args = list(args)
        self.log_location = log_location
        self.cwd = cwd
        self.extra_env = env or {}
        self.ports: dict[str, int] = {}
        self.host = "127.0.0.1"
        self.lines: list[str] = []
        self._lines_changed = threading.Condition()
        self.process: subprocess.Popen[str] | None = None
        self._default_ports = ports

    def start(self, wait_ready: bool = True, timeout: float = 60) -> ServerProcess:
        command = [sys.executable, "-m", "repository_server"]
        if self.repository is not None:
            command += ["--model-repository", str(self.repository)]
        if self._default_ports:
            command += ["--http-port", "0", "--management-port", "0", "--metrics-port", "0"]
        command += self.args
        env = {**os.environ, "LOG_LOCATION": str(self.log_location), **self.extra_env}
        self.process = subprocess.Popen(
            command,
            cwd=self.cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()
        if wait_ready:
            self.wait_ready(timeout)
        return self

    def _read_log(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        for line in self.process.stderr:
            match = _BOUND.search(line)
            with self._lines_changed:
                if match:
                    self.host = match.group(2)
                    self.ports[match.group(1)] = int(match.group(3))
                self.lines.append(line.rstrip("\n"))
                self._lines_changed.notify_all()

    @property
    def log(self) -> str:
        with self._lines_changed:
            return "\n".join(self.lines)

    def url(self, surface: str = "inference") -> str:
        return f"http://{self.host}:{self.ports[surface]}"

    @property
    def inference_url(self) -> str:
        return self.url("inference")

    @property
    def management_url(self) -> str:
        return self.url("management")

    @property
    def metrics_url(self) -> str:
        return self.url("metrics")

    @property
    def triton_url(self) -> str:
        """`host:port` without a scheme, as tritonclient wants it."""
        return f"{self.host}:{self.ports['inference']}"

    def wait_for_log(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        compiled = re.compile(pattern)

        def found() -> re.Match[str] | None:
            for line in list(self.lines):
                match = compiled.search(line)
                if match:
                    return match
            self._check_running()
            return None

        return wait_until(found, timeout, message=f"log line {pattern!r}\n{self.log}")

    def _check_running(self) -> None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(
                f"the server exited with status {self.process.returncode}:\n{self.log}"
            )

    def wait_ports(self, timeout: float = 60) -> None:
        def bound() -> bool:
            self._check_running()
            return len(self.ports) == 3

        wait_until(bound, timeout, message=f"the server's ports\n{self.log}")

    def wait_ready(self, timeout: float = 60) -> None:
        self.wait_ports(timeout)

        def ready() -> bool:
            self._check_running()
            try:
                return (
                    httpx.get(f"{self.inference_url}/v2/health/ready", timeout=5).status_code == 200
                )
            except httpx.TransportError:
                return False

        wait_until(ready, timeout, message=f"the server to be ready\n{self.log}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(
                f"the server did not stop within {timeout} s:\n{self.log}"
            ) from None
        finally:
            self._close_log()

    def _close_log(self) -> None:
        """Reads the log to its end, then closes the pipe (an open pipe warns at exit)."""
        assert self.process is not None
        if self.process.poll() is None:
            return
        self._reader.join(10)
        if self.process.stderr is not None:
            self.process.stderr.close()

    def wait_exit(self, timeout: float = 60) -> int:
        assert self.process is not None
        status = self.process.wait(timeout)
        self._close_log()
        return status
