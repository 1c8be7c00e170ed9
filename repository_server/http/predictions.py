"""TorchServe's inference routes: `GET /ping` and `POST /predictions/{model}[/{version}]`,
answered in TorchServe's JSON (pretty-printed errors with `code`, `type`, `message`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from repository_server.dataplane import DataPlane
from repository_server.errors import InvalidRequestError, QueueFullError, ServerError
from repository_server.http.errors import (
    JSON,
    torchserve_error_for,
    torchserve_headers,
    torchserve_json,
)
from repository_server.kserve import decode_predictions_body, encode_predictions_response
from repository_server.sources.names import parse_version_text


class PredictionEndpoints:
    def __init__(self, plane: DataPlane) -> None:
        self.plane = plane
        self.server = plane.server

    async def ping(self, request: Request) -> Response:
        """Healthy unless a model has served nothing, because its load failed, for longer than
        its `max_retry_timeout_secs` (TorchServe's maxRetryTimeoutInSec, default 300)."""
        for name, age in self.plane.manager.failure_ages().items():
            if age > self._retry_timeout(name):
                return torchserve_json({"status": "Unhealthy"}, 500)
        return torchserve_json({"status": "Healthy"})

    def _retry_timeout(self, name: str) -> float:
        default = self.server.settings.max_retry_timeout_secs
        record = self.plane.manager.record(name)
        config = record.config if record is not None else None
        if config is None:
            return default
        return config.integer_parameter("max_retry_timeout_secs", round(default))

    async def predict(self, request: Request) -> Response:
        """Runs a request on the model: its default version, or the one the path names.

        A path after the version (TorchServe's `url_path`, for its handler) is accepted and
        ignored."""
        version_text = request.path_params.get("model_version")
        try:
            name = request.path_params["model_name"]
            version = parse_version_text(version_text) if version_text is not None else None
            body = await request.body()
            # Looked up after the last await before the call (a swap must lose no request).
            served = self.plane.served(name, version)
            if not body:
                raise InvalidRequestError("Invalid input: the request body is empty")
            inputs = decode_predictions_body(
                served.extras["signature"], body, request.headers.get("content-type")
            )
            outputs = await served.infer(inputs)
            return Response(
                encode_predictions_response(outputs, inputs.added_batch_dim),
                media_type=JSON,
                headers=torchserve_headers(),
            )
        except QueueFullError as error:
            return torchserve_error_for(error if version_text is None else error.naming_version())
        except ServerError as error:
            return torchserve_error_for(error)


def prediction_routes(endpoints: PredictionEndpoints) -> list[BaseRoute]:
    return [
        Route("/ping", endpoints.ping, methods=["GET"]),
        Route("/predictions/{model_name}", endpoints.predict, methods=["POST"]),
        Route("/predictions/{model_name}/{model_version}", endpoints.predict, methods=["POST"]),
        # TorchServe's extra path for the handler: accepted, not described (nor by TorchServe).
        Route(
            "/predictions/{model_name}/{model_version}/{url_path:path}",
            endpoints.predict,
            methods=["POST"],
            include_in_schema=False,
        ),
    ]
