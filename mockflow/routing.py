"""Starlette routes built from the bundles' specs: one route per path, dispatching on the method.

Methods are dispatched here rather than by Starlette so that a known path with a wrong method
gets Airflow's 405 problem body, and OPTIONS answers 200 with `Allow` (no auth), as on Airflow.

`Routes` finds a request's route without trying every pattern in turn: a literal path is one dict
look-up; a parameterised one is tried only against the routes whose leading literal segments
(`/api/v1/dags` for `/api/v1/dags/{dag_id}/details`) the path starts with, in the scan's order,
so the first route that matches is the one Starlette's scan would have picked.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.types import Receive, Scope, Send

from mockflow.bundle import Bundle
from mockflow.spec import Operation

# Every route takes every method; `_Endpoint` answers 405 itself (Starlette's would be plain text).
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"]


class Dispatcher(Protocol):
    """What the routes hand a request to: the app serving it (found in the ASGI scope, so one
    set of routes, built once per process, serves every app)."""

    async def dispatch(self, bundle: Bundle, op: Operation, request: Request) -> Response: ...

    def method_not_allowed(self, allowed: list[str], request: Request) -> Response: ...

    async def not_found(self, scope: Scope, receive: Receive, send: Send) -> None: ...

    async def redirect(self, scope: Scope, receive: Receive, send: Send, path: str) -> None: ...


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
def build_router(bundles: tuple[Bundle, ...]) -> Routes:
    """The bundles' routes, compiled once per process and set of bundles (Starlette compiles a
    regex per route)."""
    return Routes([route for bundle in bundles for route in _bundle_routes(bundle)])


Head = tuple[str, ...]


def _head(path: str) -> Head:
    """The literal segments before the first parameter: `/a/b/{x}/c` -> ("", "a", "b")."""
    segments = path.split("/")
    for index, segment in enumerate(segments):
        if "{" in segment:
            return tuple(segments[:index])
    return tuple(segments)


def _literal_check(route: Route) -> tuple[Callable[[list[str]], Any], Any] | None:
    """What a path's segments must show for the route to be worth trying: its literal segments
    at fixed places (all of them, or for a spanning route those before its spanning parameter),
    as a C-level getter of those segments and the value it must return. Every such place is
    inside any path the route is tried on (the candidates have at least its segment count)."""
    indexes, texts = [], []
    for index, segment in enumerate(route.path.split("/")):
        if ":path}" in segment:
            break
        if "{" not in segment:
            indexes.append(index)
            texts.append(segment)
    if not indexes:
        return None
    # itemgetter of one index gives the item, of several a tuple
    return operator.itemgetter(*indexes), texts[0] if len(texts) == 1 else tuple(texts)


def _spans(route: Route) -> bool:
    return ":path}" in route.path  # a path parameter takes any number of segments, even none


def _by_count(ordered: list[Route]) -> tuple[dict[int, list[Route]], list[Route]]:
    """The routes a path of n segments could match, for each n up to the longest template (other
    parameters never match a `/`); beyond that only the spanning ones."""
    longest = max(len(route.path.split("/")) for route in ordered)
    counted = {count: [route for route in ordered if (count >= len(route.path.split("/")) if _spans(route)
                                                      else count == len(route.path.split("/")))]
               for count in range(1, longest + 1)}
    return counted, [route for route in ordered if _spans(route)]


class Routes:
    """The ASGI router: a request goes to the first route (in `routes` order) that matches its path,
    else to `not_found`. Answers exactly as Starlette's `Router` scan with `redirect_slashes=False`."""

    def __init__(self, routes: list[Route]) -> None:
        self.routes = routes
        heads: dict[Head, list[int]] = {}
        for index, route in enumerate(routes):
            heads.setdefault(_head(route.path), []).append(index)
        # Each head keeps every route whose head is a prefix of its own, in order: the longest head
        # a path starts with then names all the routes that could match it, by segment count.
        self._by_head = {head: _by_count([routes[i] for i in sorted(i for other, found in heads.items()
                                                                     if head[:len(other)] == other for i in found)])
                         for head in heads}
        self._depth = max((len(head) for head in heads), default=0)
        # A literal path is its route's at once, unless an earlier pattern also takes it.
        self._literal = {route.path: route for index, route in enumerate(routes) if "{" not in route.path
                         and not any(earlier.path_regex.match(route.path) for earlier in routes[:index])}
        self._fixed = {id(route): _literal_check(route) for route in routes}

    def candidates(self, path: str) -> list[Route]:
        """The routes that could match `path`, in order; the first that matches is the route."""
        literal = self._literal.get(path)
        if literal is not None:
            return [literal]
        segments = path.split("/")
        for length in range(min(len(segments), self._depth), -1, -1):
            found = self._by_head.get(tuple(segments[:length]))
            if found is not None:
                counted, longer = found
                # A route whose literal segments the path does not have at their places cannot
                # match it: no need to try its pattern (`/dags/x/details` is not `/dags/x/tasks`).
                fixed = self._fixed
                return [route for route in counted.get(len(segments), longer)
                        if (check := fixed[id(route)]) is None or check[0](segments) == check[1]]
        return []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("router", self)
        path = _route_path(scope)
        if path.startswith("//"):  # the WSGI server drops repeated leading slashes
            scope["path"] = scope["path"][:len(scope["path"]) - len(path)] + "/" + path.lstrip("/")
            path = _route_path(scope)
        if "//" in path and not self._inside_a_path_value(scope, path):
            merged = self.merged(path)
            if merged is None:
                await _not_found(scope, receive, send)
            else:
                await scope[SCOPE_KEY].redirect(scope, receive, send, merged)
            return
        partial: tuple[Route, Scope] | None = None
        for route in self.candidates(path):
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                scope["route"] = route
                scope.update(child_scope)
                await route.handle(scope, receive, send)
                return
            if match is Match.PARTIAL and partial is None:
                partial = route, child_scope  # a method no route takes: Starlette's plain 405
        if partial is not None:
            scope["route"] = partial[0]
            scope.update(partial[1])
            await partial[0].handle(scope, receive, send)
            return
        await _not_found(scope, receive, send)


    def _inside_a_path_value(self, scope: Scope, path: str) -> bool:
        """Werkzeug merges slashes between segments only: `//` inside the value of a path
        parameter (`/datasets/s3://bucket/key`) is the value's own, and routes as it is."""
        for route in self.candidates(path):
            if not _spans(route):
                continue
            match, child = route.matches(scope)
            if match is Match.NONE:
                continue
            values = [str(value) for value in child.get("path_params", {}).values()]
            tail = values[-1] if values else ""
            return bool(tail) and path.endswith(tail) and "//" not in path[:-len(tail)] and not tail.startswith("/")
        return False

    def merged(self, path: str) -> str | None:
        """Werkzeug's `merge_slashes`: a path with `//` inside whose merged form some route takes
        is redirected there (308); a `///`, or a trailing slash, matches nothing (observed on 2.5.3)."""
        if "///" in path or path.endswith("/"):
            return None
        merged = re.sub("/{2,}", "/", path)
        scope: Scope = {"type": "http", "path": merged, "root_path": "", "method": "GET"}
        if any(route.matches(scope)[0] is not Match.NONE for route in self.candidates(merged)):
            return merged
        return None


def _route_path(scope: Scope) -> str:
    # The path the routes match: without `root_path` when the server mounts the app below one.
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return path[len(root):]
    return path


def _bundle_routes(bundle: Bundle) -> list[Route]:
    by_path: dict[str, dict[str, Operation]] = {}
    for op in bundle.spec.operations.values():
        by_path.setdefault(op.path, {})[op.method] = op
    integers = _integer_parameters(bundle.spec.operations)
    return [Route(starlette_path(bundle, template, integers), _Endpoint(bundle, by_path[template]),
                  methods=ANY_METHOD)
            for template in sorted(by_path, key=_specificity)]


async def _not_found(scope: Scope, receive: Receive, send: Send) -> None:
    await scope[SCOPE_KEY].not_found(scope, receive, send)


class _Endpoint:
    """One path's methods, as a bare ASGI app: Starlette wraps a function endpoint in its
    exception-handler machinery, which this app (no Starlette middleware) never uses."""

    def __init__(self, bundle: Bundle, methods: dict[str, Operation]) -> None:
        self.bundle, self.methods = bundle, methods
        self.allowed = sorted({*methods, *(["HEAD"] if "GET" in methods else []), "OPTIONS"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive, send)
        response = await self.respond(request)
        await response(scope, receive, send)

    async def respond(self, request: Request) -> Response:
        app: Dispatcher = request.scope[SCOPE_KEY]
        method = request.method
        if method == "HEAD" and "GET" in self.methods:
            method = "GET"
        op = self.methods.get(method)
        if op is not None:
            return await app.dispatch(self.bundle, op, request)
        if method == "OPTIONS":
            return Response(status_code=200, headers={"Allow": ", ".join(self.allowed)})
        return app.method_not_allowed(self.allowed, request)
