"""Starlette routes built from the bundles' specs: one route per path, dispatching on the method.

Methods are dispatched here rather than by Starlette so that a known path with a wrong method
gets Airflow's 405 problem body, and OPTIONS answers 200 with `Allow` (no auth), as on Airflow.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from mockflow.bundle import Bundle
from mockflow.spec import Operation

# Every route takes every method; `_endpoint` answers 405 itself (Starlette's would be plain text).
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"]


class Dispatcher(Protocol):
    """What the routes hand a request to: the app serving it (found in the ASGI scope, so one
    set of routes, built once per process, serves every app)."""

    async def dispatch(self, bundle: Bundle, op: Operation, request: Request) -> Response: ...

    def method_not_allowed(self, allowed: list[str], request: Request) -> Response: ...

    async def not_found(self, scope: Scope, receive: Receive, send: Send) -> None: ...


SCOPE_KEY = "mockflow.app"


def starlette_path(bundle: Bundle, template: str, integers: frozenset[str]) -> str:
    """`/pools/{pool_name}` -> `/api/v1/pools/{pool_name}`, with int/path convertors where needed:
    integer parameters are routed as integers (a non-integer is a routing 404, as on Werkzeug)."""
    out = []
    for segment in template.split("/"):
        if segment.startswith("{") and segment.endswith("}"):
            name = segment[1:-1]
            if name in integers:
                segment = "{" + name + ":int}"
            elif name in bundle.path_parameters:
                segment = "{" + name + ":path}"
        out.append(segment)
    return bundle.prefix + "/".join(out)


def _integer_parameters(operations: dict[str, Operation]) -> frozenset[str]:
    return frozenset(p.name for op in operations.values() for p in op.parameters
                     if p.location == "path" and p.schema.get("type") == "integer")


def _specificity(template: str) -> list[tuple[int, str]]:
    # Literal segments before parameters, so `/datasets/events` wins over `/datasets/{uri}` and
    # `/dags/~/dagRuns/list` over `/dags/{dag_id}/dagRuns/{dag_run_id}`.
    return [(1 if seg.startswith("{") else 0, seg) for seg in template.split("/")]


@functools.cache
def build_router(bundles: tuple[Bundle, ...]) -> Router:
    """The bundles' routes, compiled once per process and set of bundles (Starlette compiles a
    regex per route)."""
    routes = [route for bundle in bundles for route in _bundle_routes(bundle)]
    return Router(routes=routes, redirect_slashes=False, default=_not_found)


def _bundle_routes(bundle: Bundle) -> list[Route]:
    by_path: dict[str, dict[str, Operation]] = {}
    for op in bundle.spec.operations.values():
        by_path.setdefault(op.path, {})[op.method] = op
    integers = _integer_parameters(bundle.spec.operations)
    return [Route(starlette_path(bundle, template, integers), _endpoint(bundle, by_path[template]),
                  methods=ANY_METHOD)
            for template in sorted(by_path, key=_specificity)]


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    await scope[SCOPE_KEY].not_found(scope, receive, send)


def _endpoint(bundle: Bundle, methods: dict[str, Operation]) -> Callable[[Request], Awaitable[Response]]:
    allowed = sorted({*methods, *(["HEAD"] if "GET" in methods else []), "OPTIONS"})

    async def endpoint(request: Request) -> Response:
        app: Dispatcher = request.scope[SCOPE_KEY]
        method = request.method
        if method == "HEAD" and "GET" in methods:
            method = "GET"
        op = methods.get(method)
        if op is not None:
            return await app.dispatch(bundle, op, request)
        if method == "OPTIONS":
            return Response(status_code=200, headers={"Allow": ", ".join(allowed)})
        return app.method_not_allowed(allowed, request)

    return endpoint
