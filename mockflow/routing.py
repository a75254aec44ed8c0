"""Starlette routes built from the spec's paths: one route per path, dispatching on the method.

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

from mockflow.spec import API_PREFIX, Operation, load_spec

# Path parameters that Airflow routes as integers (a non-integer is a routing 404) or as paths
# (they may contain `/`).
INT_PARAMETERS = frozenset({"event_log_id", "import_error_id", "map_index", "task_try_number"})
PATH_PARAMETERS = frozenset({"variable_key", "uri"})

# Every route takes every method; `_endpoint` answers 405 itself (Starlette's would be plain text).
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"]


class Dispatcher(Protocol):
    """What the routes hand a request to: the app serving it (found in the ASGI scope, so one
    set of routes, built once per process, serves every app)."""

    async def dispatch(self, op: Operation, request: Request) -> Response: ...

    def method_not_allowed(self, allowed: list[str]) -> Response: ...

    async def not_found(self, scope: Scope, receive: Receive, send: Send) -> None: ...


SCOPE_KEY = "mockflow.app"


def starlette_path(template: str) -> str:
    """`/pools/{pool_name}` -> `/api/v1/pools/{pool_name}`, with int/path convertors where needed."""
    out = []
    for segment in template.split("/"):
        if segment.startswith("{") and segment.endswith("}"):
            name = segment[1:-1]
            if name in INT_PARAMETERS:
                segment = "{" + name + ":int}"
            elif name in PATH_PARAMETERS:
                segment = "{" + name + ":path}"
        out.append(segment)
    return API_PREFIX + "/".join(out)


def _specificity(template: str) -> list[tuple[int, str]]:
    # Literal segments before parameters, so `/datasets/events` wins over `/datasets/{uri}` and
    # `/dags/~/dagRuns/list` over `/dags/{dag_id}/dagRuns/{dag_run_id}`.
    return [(1 if seg.startswith("{") else 0, seg) for seg in template.split("/")]


@functools.cache
def build_router() -> Router:
    """The spec's routes, compiled once per process (Starlette compiles a regex per route)."""
    by_path: dict[str, dict[str, Operation]] = {}
    for op in load_spec().operations.values():
        by_path.setdefault(op.path, {})[op.method] = op
    routes = [Route(starlette_path(template), _endpoint(by_path[template]), methods=ANY_METHOD)
              for template in sorted(by_path, key=_specificity)]
    return Router(routes=routes, redirect_slashes=False, default=_not_found)


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    await scope[SCOPE_KEY].not_found(scope, receive, send)


def _endpoint(methods: dict[str, Operation]) -> Callable[[Request], Awaitable[Response]]:
    allowed = sorted({*methods, *(["HEAD"] if "GET" in methods else []), "OPTIONS"})

    async def endpoint(request: Request) -> Response:
        app: Dispatcher = request.scope[SCOPE_KEY]
        method = request.method
        if method == "HEAD" and "GET" in methods:
            method = "GET"
        op = methods.get(method)
        if op is not None:
            return await app.dispatch(op, request)
        if method == "OPTIONS":
            return Response(status_code=200, headers={"Allow": ", ".join(allowed)})
        return app.method_not_allowed(allowed)

    return endpoint
