"""The indexed router answers exactly as Starlette's scan over the same routes, for every spec path
and for near misses, with every method."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, Router
from starlette.types import Receive, Scope, Send

from mockflow.api.bundle import airflow_v1
from mockflow.bundle import Bundle
from mockflow.control.bundle import control_bundle
from mockflow.routing import SCOPE_KEY, Routes, build_router
from mockflow.spec import Operation

BUNDLES = (airflow_v1(), control_bundle())
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND"]
FILLINGS = ["x", "1", "-1", "~", "a.b", "a%2Fb", "a/b", "list"]


class Recorder:
    """Stands for the app: says what the router handed it, so two routers can be compared."""

    def __init__(self) -> None:
        self.seen: list[Any] = []

    async def dispatch(self, bundle: Bundle, op: Operation, request: Request) -> Response:
        self.seen.append(("dispatch", bundle.name, op.operation_id, dict(request.path_params)))
        return Response(b"ok")

    def method_not_allowed(self, allowed: list[str], request: Request) -> Response:
        self.seen.append(("405", allowed))
        return Response(b"no", status_code=405)

    async def not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.seen.append(("404",))
        await Response(b"", status_code=404)(scope, receive, send)

    async def redirect(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        self.seen.append(("308", path))
        await Response(b"", status_code=308)(scope, receive, send)


def _answer(router: Any, method: str, path: str, root_path: str = "") -> list[Any]:
    recorder = Recorder()
    messages: list[Any] = []
    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "root_path": root_path,
             "query_string": b"", "headers": [], SCOPE_KEY: recorder}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        messages.append(message)

    asyncio.run(router(scope, receive, send))
    return [*recorder.seen, *messages]


def _scan_router(routes: Routes) -> Router:
    async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
        await scope[SCOPE_KEY].not_found(scope, receive, send)

    return Router(routes=list(routes.routes), redirect_slashes=False, default=not_found)


def _concrete(template: str) -> list[str]:
    """The template with each filling for every parameter, and near misses around each."""
    paths = [re.sub(r"\{[^}]+\}", filling, template) for filling in FILLINGS]
    misses = []
    for path in paths[:2]:
        misses += [path + "/", path + "/extra", path.rsplit("/", 1)[0], path.upper(), path.replace("/", "//", 1),
                   "//".join(path.rsplit("/", 1)), path.replace("/", "///", 2), path + "x", path[:-1]]
    return paths + misses


def _all_paths() -> list[str]:
    templates = {bundle.prefix + op.path for bundle in BUNDLES for op in bundle.spec.operations.values()}
    outside = ["/", "", "/api", "/api/v1", "/api/v1/", "/api/v2/pools", "/_mockflow", "/_mockflow/", "/nope",
               "/api/v1/dags/~", "/api/v1/dags/~/dagRuns", "/api/v1/dags/~/dagRuns/~/taskInstances",
               "/api/v1/variables/", "/api/v1/datasets/", "/api/v1/eventLogs/1.5"]
    return sorted({path for template in templates for path in _concrete(template)} | set(outside))


@pytest.fixture(scope="module")
def routers() -> tuple[Routes, Router]:
    indexed = build_router(BUNDLES)
    return indexed, _scan_router(indexed)


@pytest.mark.parametrize("method", METHODS)
def test_every_spec_path_and_near_miss_routes_as_the_scan_did(routers: tuple[Routes, Router], method: str) -> None:
    indexed, scan = routers
    for path in _all_paths():
        if "//" in path:  # Werkzeug's slash merging, which Starlette's scan has not: below
            continue
        assert _answer(indexed, method, path) == _answer(scan, method, path), path


def _in_a_path_value(path: str) -> bool:
    """The doubled slashes sit in the value of a path parameter (the last segment of its route)."""
    for prefix in ("/api/v1/variables/", "/api/v1/datasets/"):
        rest = path[len(prefix):]
        if path.startswith(prefix) and rest and not rest.startswith("/"):
            return True
    return False


@pytest.mark.parametrize("method", METHODS)
def test_doubled_slashes_redirect_to_the_merged_path_when_the_scan_routes_it(routers: tuple[Routes, Router],
                                                                            method: str) -> None:
    indexed, scan = routers
    doubled = [path for path in _all_paths() if "//" in path]
    assert len(doubled) > 100
    for path in doubled:
        plain = "/" + path.lstrip("/")
        merged = re.sub("/{2,}", "/", plain)
        # a doubled leading slash is served as a single one; a path parameter's own slashes are its value
        if "//" not in plain or _in_a_path_value(plain):
            assert _answer(indexed, method, path) == _answer(scan, method, plain), path
        elif "///" in plain or plain.endswith("/") or _answer(scan, method, merged)[0] == ("404",):
            assert _answer(indexed, method, path)[0] == ("404",), path
        else:
            assert _answer(indexed, method, path)[0] == ("308", merged), path


def test_a_root_path_is_stripped_as_starlette_does(routers: tuple[Routes, Router]) -> None:
    indexed, scan = routers
    for path in ["/root/api/v1/pools", "/root/api/v1/pools/x", "/root", "/rootapi/v1/pools", "/api/v1/pools"]:
        assert _answer(indexed, "GET", path, "/root") == _answer(scan, "GET", path, "/root"), path


def test_a_request_tries_few_patterns(routers: tuple[Routes, Router]) -> None:
    indexed, _ = routers
    assert len(indexed.routes) > 50
    assert len(indexed.candidates("/api/v1/health")) == 1
    assert len(indexed.candidates("/api/v1/pools/default_pool")) <= 2
    assert len(indexed.candidates("/api/v1/dags/d/details")) <= 5  # the five-segment DAG routes only
    assert indexed.candidates("/api/v2/pools") == []


def test_the_order_of_overlapping_routes_is_kept() -> None:
    # Unsorted on purpose: a pattern before a literal it also matches, nested heads, a path convertor.
    templates = ["/a/{x:path}", "/a/b/c", "/a/{y}/c", "/{z}/b", "/a/b/{w}", "/a/b", "/{v:path}"]
    routes = Routes([_route(template) for template in templates])
    scan = _scan_router(routes)
    for path in ["/a/b/c", "/a/b", "/a/q/c", "/q/b", "/a/b/q", "/a", "/", "/a/", "/q", "/a/b/c/d", ""]:
        assert _answer(routes, "GET", path) == _answer(scan, "GET", path), path
    assert routes.candidates("/a/b/c")[0].path == "/a/{x:path}"


def _route(template: str) -> Route:
    async def endpoint(request: Request) -> Response:
        return Response(template.encode())

    return Route(template, endpoint, methods=["GET"])
