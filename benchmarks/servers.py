"""The servers under comparison, each started on free loopback ports with one worker per model.

- repository-server: this project, from the project's .venv, KServe v2 JSON (and /predictions);
- TorchServe 0.12: .mar archives of benchmarks/peers/torchserve_handler.py, /predictions;
- MLServer 1.7: benchmarks/peers/mlserver_runtime.py, KServe v2 JSON, parallel_workers 0.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path

import httpx

from benchmarks.peer_process import GroupProcess, free_port
from benchmarks.workloads import (
    HEAVY,
    HEAVY_BATCHED,
    MLP_ONNX,
    MLP_TORCHSCRIPT,
    Workload,
    Workspace,
)

BENCH_ENVS = Path(os.environ.get("BENCH_ENVS", "/work/bench-envs"))
PEERS = Path(__file__).resolve().parent / "peers"
START_TIMEOUT = 180.0


@dataclass(frozen=True)
class Target:
    workload: Workload
    server: str
    url: str
    body: Path


def _answers(url: str, body: Path) -> bool:
    try:
        reply = httpx.post(
            url, content=body.read_bytes(), headers={"Content-Type": "application/json"}, timeout=5
        )
    except httpx.TransportError:
        return False
    return reply.status_code == 200


class Server(ABC):
    name: str

    def __init__(self, space: Workspace, logs: Path) -> None:
        self.space = space
        self.logs = logs
        self.process: GroupProcess | None = None

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def targets(self) -> list[Target]: ...

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def wait_answering(self) -> None:
        """Ready when every target answers one real request with 200."""
        assert self.process is not None
        for target in self.targets():

            def answers(target: Target = target) -> bool:
                return _answers(target.url, target.body)

            self.process.wait_until(answers, START_TIMEOUT, f"{self.name} serving {target.url}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None


class RepositoryServer(Server):
    name = "repository-server"

    def start(self) -> None:
        self.port = free_port()
        command = [
            sys.executable, "-m", "repository_server",
            "--model-repository", str(self.space.repository),
            "--model-control-mode", "none",
            "--http-port", str(self.port),
            "--management-port", "0",
            "--metrics-port", "0",
            "--default-workers-per-model", "1",
            "--no-config-snapshots",
            "--log-level", "warning",
        ]  # fmt: skip
        env = {**os.environ, "LOG_LOCATION": str(self.logs / "ours")}
        self.process = GroupProcess(
            command, cwd=self.logs, env=env, log=self.logs / "repository-server.log"
        )
        self.wait_answering()

    def targets(self) -> list[Target]:
        base = f"http://127.0.0.1:{self.port}"
        space = self.space
        return [
            Target(MLP_ONNX, self.name, f"{base}/v2/models/mlp/infer", space.v2_body(MLP_ONNX)),
            Target(
                MLP_ONNX,
                f"{self.name} (/predictions)",
                f"{base}/predictions/mlp",
                space.rows_body(MLP_ONNX),
            ),
            Target(
                MLP_TORCHSCRIPT,
                self.name,
                f"{base}/v2/models/mlp_torchscript/infer",
                space.v2_body(MLP_TORCHSCRIPT),
            ),
            Target(HEAVY, self.name, f"{base}/v2/models/heavy/infer", space.v2_body(HEAVY)),
            Target(
                HEAVY_BATCHED,
                self.name,
                f"{base}/v2/models/heavy_batched/infer",
                space.v2_body(HEAVY_BATCHED),
            ),
        ]


class TorchServe(Server):
    name = "TorchServe"
    env = BENCH_ENVS / "torchserve"

    def _archive(self, store: Path, name: str, model_file: Path) -> None:
        subprocess.run(
            [
                str(self.env / "bin" / "torch-model-archiver"),
                "--model-name", name,
                "--version", "1.0",
                "--serialized-file", str(model_file),
                "--handler", str(PEERS / "torchserve_handler.py"),
                "--export-path", str(store),
                "--force",
            ],
            check=True,
        )  # fmt: skip

    def start(self) -> None:
        home = self.logs / "torchserve"
        store = home / "store"
        store.mkdir(parents=True)
        archives = {
            "mlp": self.space.mlp_onnx,
            "mlp_torchscript": self.space.mlp_torchscript,
            "heavy": self.space.heavy_onnx,
        }
        for name, model_file in archives.items():
            self._archive(store, name, model_file)
        self.port = free_port()
        config = home / "config.properties"
        config.write_text(
            "\n".join(
                [
                    f"inference_address=http://127.0.0.1:{self.port}",
                    f"management_address=http://127.0.0.1:{free_port()}",
                    f"metrics_address=http://127.0.0.1:{free_port()}",
                    "default_workers_per_model=1",
                    "enable_model_api=true",
                    "install_py_dep_per_model=false",
                    "",
                ]
            )
        )
        command = [
            str(self.env / "bin" / "torchserve"),
            "--start", "--foreground", "--ncs", "--disable-token-auth",
            "--model-store", str(store),
            "--ts-config", str(config),
            "--models", *(f"{name}={name}.mar" for name in archives),
        ]  # fmt: skip
        env = {
            **os.environ,
            "PATH": f"{self.env / 'bin'}:{os.environ['PATH']}",
            "LOG_LOCATION": str(home / "logs"),
            "METRICS_LOCATION": str(home / "logs"),
        }
        env.pop("VIRTUAL_ENV", None)
        self.process = GroupProcess(command, cwd=home, env=env, log=home / "console.log")
        self.wait_answering()

    def targets(self) -> list[Target]:
        base = f"http://127.0.0.1:{self.port}"
        return [
            Target(
                workload, self.name, f"{base}/predictions/{name}", self.space.rows_body(workload)
            )
            for workload, name in (
                (MLP_ONNX, "mlp"),
                (MLP_TORCHSCRIPT, "mlp_torchscript"),
                (HEAVY, "heavy"),
            )
        ]


class MLServer(Server):
    name = "MLServer"
    env = BENCH_ENVS / "mlserver"

    def start(self) -> None:
        home = self.logs / "mlserver"
        home.mkdir(parents=True)
        shutil.copyfile(PEERS / "mlserver_runtime.py", home / "mlserver_runtime.py")
        self.port = free_port()
        settings = {
            "debug": False,
            "parallel_workers": 0,
            "host": "127.0.0.1",
            "http_port": self.port,
            "grpc_port": free_port(),
            "metrics_port": free_port(),
        }
        (home / "settings.json").write_text(json.dumps(settings, indent=2))
        for name, model_file in (("mlp", self.space.mlp_onnx), ("heavy", self.space.heavy_onnx)):
            folder = home / name
            folder.mkdir()
            shutil.copyfile(model_file, folder / "model.onnx")
            model_settings = {
                "name": name,
                "implementation": "mlserver_runtime.OnnxRuntimeModel",
                "parameters": {"uri": "./model.onnx"},
            }
            (folder / "model-settings.json").write_text(json.dumps(model_settings, indent=2))
        env = {
            **os.environ,
            "PATH": f"{self.env / 'bin'}:{os.environ['PATH']}",
            "PYTHONPATH": str(home),
        }
        env.pop("VIRTUAL_ENV", None)
        command = [str(self.env / "bin" / "mlserver"), "start", str(home)]
        self.process = GroupProcess(command, cwd=home, env=env, log=home / "console.log")
        self.wait_answering()

    def targets(self) -> list[Target]:
        base = f"http://127.0.0.1:{self.port}"
        return [
            Target(
                workload, self.name, f"{base}/v2/models/{name}/infer", self.space.v2_body(workload)
            )
            for workload, name in ((MLP_ONNX, "mlp"), (HEAVY, "heavy"))
        ]


SERVERS: dict[str, type[Server]] = {
    "repository-server": RepositoryServer,
    "torchserve": TorchServe,
    "mlserver": MLServer,
}
