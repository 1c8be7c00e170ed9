"""The OpenAPI 3.0.1 description of a port, generated from its Starlette routes.

Each `Route` becomes one operation per method (HEAD is left out beside GET): its path with
`{param}` placeholders, its path parameters typed from their convertors, a summary from the first
line of the endpoint's docstring and a description from the rest. `Mount`s are walked with their
prefix; WebSocket routes and routes with `include_in_schema=False` are left out. Routes are
described as they are, so the document cannot drift from what the port serves.
"""

from __future__ import annotations

import inspect
import re
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.convertors import Convertor, FloatConvertor, IntegerConvertor, UUIDConvertor
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from repository_server.errors import ServerError
from repository_server.http.errors import torchserve_error_for, torchserve_headers

OPENAPI_VERSION = "3.0.1"
_METHOD_ORDER = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_PLACEHOLDER = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)(?::[A-Za-z_]+)?}")
_RESPONSES = {
    "200": {"description": "Success."},
    "default": {"description": "An error, with a JSON body that says what was wrong."},
}


def _schema(convertor: Convertor[Any]) -> dict[str, Any]:
    if isinstance(convertor, IntegerConvertor):
        return {"type": "integer", "minimum": 0}
    if isinstance(convertor, FloatConvertor):
        return {"type": "number", "minimum": 0}
    if isinstance(convertor, UUIDConvertor):
        return {"type": "string", "format": "uuid"}
    return {"type": "string"}


def _methods(route: Route) -> list[str]:
    if route.methods is not None:
        methods = {method.lower() for method in route.methods}
    else:  # an HTTPEndpoint class answers the methods it defines
        methods = {m for m in _METHOD_ORDER if callable(getattr(route.endpoint, m, None))}
    if "get" in methods:
        methods.discard("head")  # Starlette adds HEAD to every GET route
    return [method for method in _METHOD_ORDER if method in methods]


def _docstring(route: Route, method: str) -> str:
    endpoint = route.endpoint
    if inspect.isclass(endpoint):
        return inspect.getdoc(getattr(endpoint, method, None)) or inspect.getdoc(endpoint) or ""
    return inspect.getdoc(endpoint) or ""


def _walk(
    routes: Sequence[BaseRoute], prefix: str, convertors: Mapping[str, Convertor[Any]]
) -> Iterator[tuple[str, Route, Mapping[str, Convertor[Any]]]]:
    """(path, route, convertors of every parameter in the path) for each described route."""
    for route in routes:
        if isinstance(route, Route) and route.include_in_schema:
            yield prefix + route.path_format, route, {**convertors, **route.param_convertors}
        elif isinstance(route, Mount) and route.routes:
            mount_path = _PLACEHOLDER.sub(r"{\1}", route.path)
            inner = {k: v for k, v in route.param_convertors.items() if k != "path"}
            yield from _walk(route.routes, prefix + mount_path, {**convertors, **inner})


def _operation(
    path: str, route: Route, method: str, convertors: Mapping[str, Convertor[Any]]
) -> dict[str, Any]:
    summary, _, description = _docstring(route, method).partition("\n")
    operation: dict[str, Any] = {"summary": summary.strip() or f"{method.upper()} {path}"}
    if description.strip():
        operation["description"] = description.strip()
    names = _PLACEHOLDER.findall(path)
    if names:
        operation["parameters"] = [
            {"name": name, "in": "path", "required": True, "schema": _schema(convertors[name])}
            for name in names
        ]
    operation["responses"] = {code: dict(answer) for code, answer in _RESPONSES.items()}
    return operation


def openapi_document(
    routes: Sequence[BaseRoute], title: str, version: str, *, description: str = ""
) -> dict[str, Any]:
    """An OpenAPI 3.0.1 document describing `routes` (see the module docstring)."""
    paths: dict[str, dict[str, Any]] = {}
    used_ids: set[str] = set()
    for path, route, convertors in _walk(routes, "", {}):
        item = paths.setdefault(path, {})
        for method in _methods(route):
            if method in item:
                continue  # Starlette answers with the first route that matches
            operation = _operation(path, route, method, convertors)
            operation_id = base = f"{method}_{route.name}"
            suffix = 2
            while operation_id in used_ids:
                operation_id, suffix = f"{base}_{suffix}", suffix + 1
            used_ids.add(operation_id)
            item[method] = {"operationId": operation_id, **operation}
    info: dict[str, Any] = {"title": title, "version": version}
    if description:
        info["description"] = description
    return {"openapi": OPENAPI_VERSION, "info": info, "paths": paths}


# A function endpoint takes only GET unless its methods are listed.
_OTHER_METHODS = ["POST", "PUT", "DELETE", "PATCH", "TRACE", "CONNECT"]


def api_description_routes(title: str, version: str) -> list[Route]:
    """`OPTIONS /` and `/api-description` (any method), as TorchServe serves them: the
    description of the app they are part of, themselves included, built once on first use."""
    cache: weakref.WeakKeyDictionary[Starlette, bytes] = weakref.WeakKeyDictionary()

    async def api_description(request: Request) -> Response:
        """The OpenAPI 3.0.1 description of this port."""
        app = request.app
        body = cache.get(app)
        if body is None:
            document = openapi_document(app.routes, title, version)
            body = cache[app] = orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
        return Response(body, media_type="application/json", headers=torchserve_headers())

    return [
        Route("/", api_description, methods=["OPTIONS"], name="api_description"),
        Route("/api-description", api_description, methods=["GET", "OPTIONS"]),
        # Every other method too, left out of the document (TorchServe describes GET/OPTIONS).
        Route(
            "/api-description",
            api_description,
            methods=_OTHER_METHODS,
            include_in_schema=False,
        ),
    ]


# (model name, version text or None) -> None, or raises the ServerError that says what is unknown.
ModelCheck = Callable[[str, str | None], None]


def model_description_routes(
    prefix: str, check: ModelCheck, title: str, version: str
) -> list[Route]:
    """TorchServe's `OPTIONS {prefix}/{name}[/{version}]`: the description of this port's routes
    for that one model, its name filled in; 404 in TorchServe's words when it is unknown."""
    template = f"{prefix}/{{model_name}}"

    async def model_description(request: Request) -> Response:
        """The OpenAPI 3.0.1 description of one model's routes on this port."""
        name = request.path_params["model_name"]
        try:
            check(name, request.path_params.get("model_version"))
        except ServerError as error:
            return torchserve_error_for(error)
        routes = [
            route
            for route in request.app.routes
            if isinstance(route, Route)
            and route.path_format.startswith(template)
            and route.endpoint is not model_description
        ]
        document = openapi_document(routes, f"{title}: model {name}", version)
        document["paths"] = {
            path.replace(template, f"{prefix}/{name}", 1): _without_model_parameter(item)
            for path, item in document["paths"].items()
        }
        body = orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
        return Response(body, media_type="application/json", headers=torchserve_headers())

    return [
        Route(template, model_description, methods=["OPTIONS"]),
        Route(template + "/{model_version}", model_description, methods=["OPTIONS"]),
    ]


def _without_model_parameter(item: dict[str, Any]) -> dict[str, Any]:
    for operation in item.values():
        parameters = [p for p in operation.get("parameters", ()) if p["name"] != "model_name"]
        if parameters:
            operation["parameters"] = parameters
        else:
            operation.pop("parameters", None)
    return item
