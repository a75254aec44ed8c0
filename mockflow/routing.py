"""Starlette routes built from the spec's paths: one route per path, dispatching on the method.

Methods are dispatched here rather than by Starlette so that a known path with a wrong method
gets Airflow's 405 problem body, and OPTIONS answers 200 with `Allow` (no auth), as on Airflow.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from mockflow.spec import API_PREFIX, Operation, Spec

# Path parameters that Airflow routes as integers (a non-integer is a routing 404) or as paths
# (they may contain `/`).
INT_PARAMETERS = frozenset({"event_log_id", "import_error_id", "map_index", "task_try_number"})
PATH_PARAMETERS = frozenset({"variable_key", "uri"})

# Every route takes every method; `_endpoint` answers 405 itself (Starlette's would be plain text).
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"]

Dispatch = Callable[[Operation, Request], Awaitable[Response]]
MethodNotAllowedResponder = Callable[[Request, list[str]], Response]


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


def build_routes(spec: Spec, dispatch: Dispatch, not_allowed: MethodNotAllowedResponder) -> list[Route]:
    by_path: dict[str, dict[str, Operation]] = {}
    for op in spec.operations.values():
        by_path.setdefault(op.path, {})[op.method] = op
    routes = []
    for template in sorted(by_path, key=_specificity):
        endpoint = _endpoint(by_path[template], dispatch, not_allowed)
        routes.append(Route(starlette_path(template), endpoint, methods=ANY_METHOD))
    return routes


def _endpoint(
    methods: dict[str, Operation], dispatch: Dispatch, not_allowed: MethodNotAllowedResponder
) -> Callable[[Request], Awaitable[Response]]:
    allowed = sorted({*methods, *(["HEAD"] if "GET" in methods else []), "OPTIONS"})

    async def endpoint(request: Request) -> Response:
        method = request.method
        if method == "HEAD" and "GET" in methods:
            method = "GET"
        op = methods.get(method)
        if op is not None:
            return await dispatch(op, request)
        if method == "OPTIONS":
            return Response(status_code=200, headers={"Allow": ", ".join(allowed)})
        return not_allowed(request, allowed)

    return endpoint
