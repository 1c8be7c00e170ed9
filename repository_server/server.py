"""Runs the server process: three uvicorn servers (inference, management, metrics) on one event
loop around one ModelServer, with a graceful stop on SIGTERM and SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable, Generator, Mapping
from pathlib import Path
from typing import Any

import uvicorn
from starlette.types import ASGIApp

from backends.base import LoadedModel
from repository_server.collection import freeze_after_start
from repository_server.dataplane import DataPlane
from repository_server.errors import ConfigurationError
from repository_server.http.auth import OPEN_ROUTES, TokenAuth, load_tokens, warn_if_exposed
from repository_server.http.inference import create_inference_app
from repository_server.http.management import create_management_app
from repository_server.http.metrics import create_metrics_app
from repository_server.http.protocol import BoundedHttpProtocol
from repository_server.kserve import Signature
from repository_server.kserve.labels import read_labels
from repository_server.management.registrations import RegistrationBook
from repository_server.manager.desired import DesiredModel
from repository_server.model_server import ModelServer
from repository_server.settings import Settings
from repository_server.snapshots import RestorePlan
from repository_server.snapshots.keeper import SnapshotKeeper
from repository_server.sources.unpack import remove_stale_staging

logger = logging.getLogger("repository_server")

STARTUP_FAILED = 1


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signals to us: three servers share one process."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield

    @property
    def bound_port(self) -> int:
        return int(self.servers[0].sockets[0].getsockname()[1])


def _uvicorn_config(app: ASGIApp, settings: Settings, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.host,
        port=port,
        lifespan="off",
        access_log=False,
        log_config=None,
        http=BoundedHttpProtocol,
        loop="none",
        timeout_graceful_shutdown=int(settings.exit_timeout_secs) or 1,
        server_header=False,
    )


def build_codec(loaded: LoadedModel, desired: DesiredModel, version_folder: Path) -> dict[str, Any]:
    """Per-version objects built once at load time, so requests do no lookups of their own."""
    config = desired.config
    assert config is not None
    labels = read_labels(version_folder.parent, config)
    return {"signature": Signature.of(desired.name, loaded.metadata, config.max_batch_size, labels)}


def run(settings: Settings, given: Mapping[str, Any], plan: RestorePlan | None = None) -> int:
    """Runs until SIGTERM or SIGINT; returns the process exit status. `plan`: the config
    snapshot (or --ts-config file) to restore after start."""
    root = settings.model_repository
    if not root.is_dir():
        raise ConfigurationError(f"--model-repository: {str(root)!r} is not a folder")
    store = settings.model_store
    if store is not None and not store.is_dir():
        raise ConfigurationError(f"--model-store: {str(store)!r} is not a folder")
    for name in remove_stale_staging(root):
        logger.warning("removed %s: an unpack interrupted by a crash left it in %s", name, root)
    try:
        import uvloop

        runner: Callable[..., int] = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency on POSIX
        runner = asyncio.run
    return runner(serve(settings, plan))


def _guarded(app: ASGIApp, token: str | None, control_token: str | None = None) -> ASGIApp:
    """The app behind token auth when a token is set; as it is otherwise (no layer per request).
    Model control (load, unload) needs `control_token` instead, when it is set."""
    if token is None and control_token is None:
        return app
    # OPTIONS / and /api-description stay open, as in TorchServe.
    return TokenAuth(app, token, exempt=OPEN_ROUTES, control_token=control_token)


async def serve(settings: Settings, plan: RestorePlan | None = None) -> int:
    management_token, inference_token = load_tokens(settings)
    server = ModelServer(settings, build_extras=build_codec)
    # One book for the management API and the snapshots: registrations survive restarts.
    registrations = RegistrationBook()
    keeper = SnapshotKeeper.for_server(server, plan, registrations)
    plane = DataPlane(server)
    surfaces: list[tuple[str, ASGIApp, int]] = [
        (
            "inference",
            _guarded(create_inference_app(plane), inference_token, management_token),
            settings.http_port,
        ),
        (
            "management",
            _guarded(create_management_app(plane, registrations), management_token),
            settings.management_port,
        ),
        ("metrics", create_metrics_app(plane), settings.metrics_port),
    ]
    uvicorn_servers = [_Server(_uvicorn_config(app, settings, port)) for _, app, port in surfaces]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    tasks = [asyncio.create_task(s.serve()) for s in uvicorn_servers]
    if not await _wait_started(uvicorn_servers, tasks):
        await _stop_servers(uvicorn_servers, tasks)
        return STARTUP_FAILED
    warn_if_exposed(settings.host, inference_token, port="the inference port")
    warn_if_exposed(settings.host, management_token, port="the management port")
    for (name, _, _), uvicorn_server in zip(surfaces, uvicorn_servers, strict=True):
        logger.info("%s on http://%s:%d", name, settings.host, uvicorn_server.bound_port)
    report = await server.start()
    exit_status = 0
    if report.failures and settings.exit_on_error:
        for name, reason in sorted(report.failures.items()):
            logger.error("model %s failed to load: %s", name, reason)
        logger.error("--exit-on-error: stopping")
        exit_status = STARTUP_FAILED
    else:
        for name, reason in sorted(report.failures.items()):
            if server.manager.record(name) is None:  # no state line said it: a name with no folder
                logger.warning("model %s named at start did not load: %s", name, reason)
        await keeper.restore_and_start()
        freeze_after_start()
        logger.info("Model server started.")
        watchers = [*tasks, asyncio.create_task(stop.wait())]
        await asyncio.wait(watchers, return_when=asyncio.FIRST_COMPLETED)
        watchers[-1].cancel()
    logger.info("stopping: finishing in-flight requests, then unloading models")
    server.exiting = True
    await _stop_servers(uvicorn_servers, tasks)
    # Before the models unload: the shutdown snapshot records what served.
    await keeper.stop(deliberate=stop.is_set())
    await server.stop()
    logger.info("stopped")
    return exit_status


async def _wait_started(servers: list[_Server], tasks: list[asyncio.Task[None]]) -> bool:
    while not all(s.started for s in servers):
        if any(task.done() for task in tasks):
            for task in tasks:
                if task.done() and not task.cancelled() and task.exception() is not None:
                    error = task.exception()
                    if not isinstance(error, SystemExit):
                        logger.error("a server failed to start: %r", error)
            print("repository-server: error: could not bind every port", file=sys.stderr)
            return False
        await asyncio.sleep(0.01)
    return True


async def _stop_servers(servers: list[_Server], tasks: list[asyncio.Task[None]]) -> None:
    for uvicorn_server in servers:
        uvicorn_server.should_exit = True
    await asyncio.gather(*tasks, return_exceptions=True)
