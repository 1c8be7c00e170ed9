"""TorchServe's `POST /models`: resolve `url` to a model folder, then load it (EXPLICIT mode).

`url` is a model folder of the repository, an archive in `--model-store` or an http(s) URL that
`--allowed-urls` lets through (see `repository_server.sources`); archives are unpacked into the
repository as a model folder named `model_name` (default: the archive's name without suffix).

TorchServe's knobs map onto the model's config for this load only (the files are not changed):
`batch_size` > 1 -> `max_batch_size` with dynamic batching, `max_batch_delay` (ms) ->
`dynamic_batching.max_queue_delay_microseconds`, `response_timeout` (s) -> the `response_timeout`
parameter. `initial_workers` sets the worker count of every version of the model.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass
from types import MappingProxyType
from urllib.parse import unquote, urlsplit

from repository_server.dataplane import DataPlane
from repository_server.errors import (
    ConflictError,
    InvalidRequestError,
    LoadFailedError,
    ModelNotFoundError,
    ServerError,
    ServerNotReadyError,
)
from repository_server.management.errors import control_mode_forbids
from repository_server.management.params import RequestParams
from repository_server.management.registrations import (
    Change,
    Registration,
    RegistrationBook,
    remove_folder,
)
from repository_server.management.served import scheduler_of
from repository_server.management.workers import forget_worker_counts
from repository_server.repository.config import DynamicBatching, ModelConfig
from repository_server.repository.layout import is_valid_model_name
from repository_server.scheduling import check_worker_count
from repository_server.settings import ControlMode
from repository_server.sources import (
    DEFAULT_MAX_DOWNLOAD_BYTES,
    ModelSource,
    resolve_model_url,
)
from repository_server.sources.archives import archive_stem, archive_suffix
from repository_server.sources.manifest import known_runtime
from repository_server.sources.unpack import FolderExistsError

logger = logging.getLogger(__name__)

# TorchServe's max_batch_delay default (ms) when batch_size turns batching on.
DEFAULT_MAX_BATCH_DELAY_MS = 100
# The values TorchServe's clients send to mean "not given: use the model's or the default".
BATCH_SIZE_SENTINEL = -1
MAX_BATCH_DELAY_SENTINEL = -100
RESPONSE_TIMEOUT_SENTINEL = -1


def given_value(name: str, number: int, minimum: int, sentinel: int | None) -> int | None:
    """`number`, or None for TorchServe's "use the default" sentinel; under `minimum` is a 400."""
    if number == sentinel:
        return None
    if number < minimum:
        default = "" if sentinel is None else f" (or {sentinel} for the default)"
        raise InvalidRequestError(
            f"Parameter {name} must be at least {minimum}{default}, not {number}"
        )
    return number


class SourceNotFoundError(ServerError):
    """`url` points at nothing usable; the message says why (TorchServe's 404 wording)."""

    status = 404
    torchserve_type = "ModelNotFoundException"


class RegistrationFailedError(ServerError):
    """The model's files were found but it did not load (TorchServe: workers failed)."""

    status = 500
    torchserve_type = "InternalServerException"


@dataclass(frozen=True)
class RegisterRequest:
    url: str
    model_name: str | None = None
    batch_size: int | None = None
    max_batch_delay_ms: int | None = None
    initial_workers: int | None = None
    synchronous: bool = True
    response_timeout: int | None = None
    handler: str | None = None
    runtime: str | None = None

    @classmethod
    def parse(cls, params: RequestParams) -> RegisterRequest:
        url = params.text("url")
        if url is None:
            raise InvalidRequestError("Parameter url is required.")
        runtime = params.text("runtime")
        if runtime is not None:
            runtime = known_runtime(runtime)
            if runtime is None:
                raise InvalidRequestError(f"Invalid RuntimeType value: {params.text('runtime')}")

        def optional(name: str, minimum: int, sentinel: int | None = None) -> int | None:
            if name not in params:
                return None
            return given_value(name, params.integer(name, 0), minimum, sentinel)

        # TorchServe reads a batch_size that is not an integer as its default.
        batch_size = params.lenient_integer("batch_size", BATCH_SIZE_SENTINEL)
        return cls(
            url=url,
            model_name=params.text("model_name") or None,
            batch_size=given_value("batch_size", batch_size, 1, BATCH_SIZE_SENTINEL),
            max_batch_delay_ms=optional("max_batch_delay", 0, MAX_BATCH_DELAY_SENTINEL),
            initial_workers=_within_limit(optional("initial_workers", 0)),
            synchronous=params.flag("synchronous", True),
            response_timeout=optional("response_timeout", 1, RESPONSE_TIMEOUT_SENTINEL),
            handler=params.text("handler") or None,
            runtime=runtime,
        )

    def intended_name(self) -> str:
        """The model name the registration would create, known before anything is fetched
        (an archive's manifest may still name it otherwise: see `name_is_final`)."""
        if self.model_name is not None:
            return self.model_name
        return archive_stem(self._file_name())

    def name_is_final(self) -> bool:
        """Whether `intended_name` is sure: a name given, or a repository folder's name."""
        return self.model_name is not None or archive_suffix(self._file_name()) is None

    def _file_name(self) -> str:
        path = urlsplit(self.url).path if urlsplit(self.url).scheme else self.url
        return unquote(path).rsplit("/", 1)[-1]


@dataclass(frozen=True)
class RegisterOutcome:
    status: int
    message: str


def config_override(config: ModelConfig, request: RegisterRequest) -> ModelConfig | None:
    """The model's config with the request's batching and timeout, or None when it asks for
    nothing. `batch_size` 1 (TorchServe's default) leaves batching as the config has it."""
    changes: dict[str, object] = {}
    wants_batches = request.batch_size is not None and request.batch_size > 1
    if config.max_batch_size <= 0:
        if wants_batches:
            raise InvalidRequestError(
                f"batch_size {request.batch_size}: model {config.name} does not batch (its "
                "config has max_batch_size 0, so its inputs have no batch dimension); register "
                "it with batch_size 1 or give its config a max_batch_size"
            )
    elif wants_batches or request.max_batch_delay_ms is not None:
        batching = config.dynamic_batching or DynamicBatching(
            max_queue_delay_microseconds=DEFAULT_MAX_BATCH_DELAY_MS * 1000
        )
        if request.max_batch_delay_ms is not None:
            batching = dataclasses.replace(
                batching, max_queue_delay_microseconds=request.max_batch_delay_ms * 1000
            )
        changes["dynamic_batching"] = batching
        if wants_batches:
            changes["max_batch_size"] = request.batch_size
    if request.response_timeout is not None:
        parameters = {**config.parameters, "response_timeout": str(request.response_timeout)}
        changes["parameters"] = MappingProxyType(parameters)
    return dataclasses.replace(config, **changes) if changes else None  # type: ignore[arg-type]


class Registrar:
    """Registers models; other changes of a model wait (409) while its registration runs.

    A registration that fails, answered 500 or after a 202, leaves nothing behind, as TorchServe
    unregisters a model whose workers fail: every version is unloaded (also those that did load:
    the registration as a whole failed), a folder unpacked for it is removed, and describe, list
    and `/ping` no longer know the model. A folder that was in the repository stays.
    """

    def __init__(self, plane: DataPlane, book: RegistrationBook) -> None:
        self.plane = plane
        self.server = plane.server
        self.manager = plane.manager
        self.controller = plane.controller
        self.book = book
        self._background: set[asyncio.Task[str]] = set()

    async def register(self, request: RegisterRequest) -> RegisterOutcome:
        if self.controller.mode is not ControlMode.EXPLICIT:
            raise control_mode_forbids("Registering a model", self.controller.mode)
        if not self.controller.started or self.server.exiting:
            raise ServerNotReadyError("Server not ready: models cannot be registered now")
        intended = request.intended_name()
        reserved = request.name_is_final() and is_valid_model_name(intended)
        if reserved:
            self._refuse_registered(intended)
            self.book.begin(intended, Change.REGISTERING)
        try:
            source, override = await self._prepare(request)
        finally:
            if reserved:
                self.book.end(intended)
        name = source.name
        try:
            # A .mar's manifest may name the model otherwise than its URL does.
            self._refuse_registered(name)
        except ConflictError:
            if source.unpacked:
                await remove_folder(source.folder)
            raise
        self.book.begin(name, Change.REGISTERING)
        # Loading continues even if the client goes away: it always ends in a known state.
        task = asyncio.create_task(self._load(source, request, override))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(lambda done: self._log_failure(name, done))
        # With no workers to wait for, TorchServe answers once the model is registered.
        if not request.synchronous and request.initial_workers != 0:
            return RegisterOutcome(202, "Processing worker updates...")
        return RegisterOutcome(200, await asyncio.shield(task))

    async def _prepare(self, request: RegisterRequest) -> tuple[ModelSource, ModelConfig | None]:
        """The model folder and its config override; every request error is found here, before
        an asynchronous registration answers 202."""
        try:
            source = await asyncio.to_thread(self._resolve, request)
        except ModelNotFoundError as error:
            raise SourceNotFoundError(error.message) from None
        except FolderExistsError as error:
            self._refuse_loaded(error.name)  # the truer 409 when it is registered
            raise
        try:
            return source, await self._override(source.name, request)
        except BaseException:
            if source.unpacked:
                await remove_folder(source.folder)
            raise

    def _refuse_registered(self, name: str) -> None:
        self.book.refuse_while_changing(name)
        self._refuse_loaded(name)

    def _refuse_loaded(self, name: str) -> None:
        record = self.manager.record(name)
        if record is not None and record.default_version is not None:
            raise ConflictError(
                f"Model version {record.default_version} is already registered for model {name}"
            )

    def _resolve(self, request: RegisterRequest) -> ModelSource:
        settings = self.server.settings
        return resolve_model_url(
            request.url,
            repository=settings.model_repository,
            model_store=settings.model_store,
            allowed_urls=settings.allowed_urls,
            max_download_bytes=DEFAULT_MAX_DOWNLOAD_BYTES,
            model_name=request.model_name,
        )

    async def _load(
        self, source: ModelSource, request: RegisterRequest, override: ModelConfig | None
    ) -> str:
        """Loads the model; returns the 200 answer's message, computed before other changes of
        the model are let in."""
        name = source.name
        try:
            if request.initial_workers is not None:
                self.manager.model_workers[name] = request.initial_workers
            manifest = source.manifest
            handler = request.handler or (manifest and manifest.handler)
            runtime = request.runtime or (manifest and manifest.runtime)
            self.book.add(Registration(source, handler or None, runtime or None))
            await self.controller.load(name, override)
            return self._registered_message(name)
        except BaseException as error:
            await self._undo(name, unload=isinstance(error, Exception))
            if isinstance(error, LoadFailedError):
                raise RegistrationFailedError(error.message) from None
            raise
        finally:
            self.book.end(name)
            self.server.notify_changed(f"register {name}")

    async def _undo(self, name: str, *, unload: bool) -> None:
        """Unregisters what the failed registration left: versions loaded or failed, worker
        counts, the registration and a folder unpacked for it."""
        try:
            if unload:
                await self.controller.unload(name)
        finally:
            forget_worker_counts(self.manager, name)
            await self.book.forget(name)

    async def _override(self, name: str, request: RegisterRequest) -> ModelConfig | None:
        entry = await asyncio.to_thread(self.controller.scanner.scan_model, name)
        if entry is None or entry.config is None:
            return None  # the load reports what is wrong with the folder
        return config_override(entry.config, request)

    def _registered_message(self, name: str) -> str:
        served = self.manager.get(name)
        workers = scheduler_of(served).workers
        message = (
            f'Model "{name}" Version: {served.version} registered with {workers} initial workers'
        )
        if workers == 0:
            message += ". Use scale workers API to add workers for the model."
        return message

    @staticmethod
    def _log_failure(name: str, task: asyncio.Task[str]) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            logger.error("registering model %s failed: %s", name, error)


def _within_limit(initial_workers: int | None) -> int | None:
    if initial_workers is not None:
        check_worker_count(initial_workers, "initial_workers")
    return initial_workers
