"""The protocol-agnostic core every HTTP surface calls: settings, repository, manager, control."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from repository_server.manager import ModelManager, RepositoryController, StartupReport
from repository_server.manager.loader import BackendVersionLoader, ExtrasBuilder
from repository_server.repository import RepositoryScanner
from repository_server.settings import Settings

logger = logging.getLogger(__name__)


class ModelServer:
    """Owns what is loaded and how it changes; constructing it loads nothing."""

    def __init__(self, settings: Settings, *, build_extras: ExtrasBuilder | None = None) -> None:
        self.settings = settings
        self.started_at = time.time()
        self.executor = ThreadPoolExecutor(
            settings.model_load_thread_count, thread_name_prefix="model-load"
        )
        self.scanner = RepositoryScanner(settings.model_repository)
        loader = BackendVersionLoader(
            root=settings.model_repository,
            executor=self.executor,
            job_queue_size=settings.job_queue_size,
            response_timeout=settings.response_timeout,
            build_extras=build_extras,
        )
        self.manager = ModelManager(
            loader,
            default_workers=settings.default_workers_per_model,
            drain_timeout=settings.exit_timeout_secs,
        )
        self.controller = RepositoryController(
            self.manager,
            self.scanner,
            mode=settings.model_control_mode,
            default_policy=settings.model_version_policy,
            poll_secs=settings.repository_poll_secs,
            settle_secs=settings.repository_settle_secs,
            load_models=settings.load_model,
        )
        self.exiting = False
        # Called after every management change of runtime config (register, unregister, scale,
        # set-default, repository load/unload): config snapshots listen here.
        self.change_listeners: list[Callable[[str], None]] = []

    def notify_changed(self, what: str) -> None:
        """Tells the listeners that runtime config changed (`what` says how, for the log)."""
        for listener in self.change_listeners:
            listener(what)

    async def start(self) -> StartupReport:
        return await self.controller.start()

    async def stop(self) -> None:
        """Stops following the repository, then unloads every model once its requests finish."""
        self.exiting = True
        await self.controller.stop()
        await self.manager.shutdown()
        self.executor.shutdown(wait=True)

    @property
    def ready(self) -> bool:
        if self.exiting:
            return False
        if not self.settings.strict_readiness:
            return self.controller.started
        return self.controller.ready
