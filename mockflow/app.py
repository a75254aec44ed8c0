"""`create_app()`: the ASGI app that serves API bundles over the stores of its namespaces.

A request is routed (404 / 405 / OPTIONS) to the bundle that owns its path and to the namespace
its `X-Mockflow-Namespace` header names, then runs the steps in order: for observed bundles (the
Airflow API) the journal and faults first, then the response check and the error renderer, then
the bundle's own steps (`mockflow.pipeline`). The reply becomes bytes in one place, `render`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send

from mockflow.api.bundle import airflow_v1
from mockflow.api.context import Reply
from mockflow.bundle import Bundle, Handler
from mockflow.clock import Clock
from mockflow.control.bundle import control_bundle
from mockflow.control.checks import ControlChecks
from mockflow.control.facade import Control
from mockflow.control.journal import Journal
from mockflow.control.namespaces import HEADER, Namespace, Namespaces
from mockflow.control.steps import inject_faults, record_in_journal
from mockflow.disconnect import RAW_SEND, DisconnectResponse
from mockflow.fixtureset.cache import seeded_store
from mockflow.pipeline import OUTER_STEPS, Exchange, Health, Step, problem_reply, run
from mockflow.problems import ApiError, MethodNotAllowed, RouteNotFound, dump_json
from mockflow.routing import SCOPE_KEY, build_router
from mockflow.settings import Settings
from mockflow.spec import Operation
from mockflow.store import Store
from mockflow.validation import RawRequest, Validator


@dataclass
class Served:
    """One bundle as this app serves it: its validator, its steps, and handlers a test may swap."""

    bundle: Bundle
    validator: Validator
    handlers: dict[str, Handler]
    steps: tuple[Step, ...]


class MockflowApp:
    """The ASGI app. `store` is the default namespace's live store; `control` its controls;
    `health` lists mockflow's own bugs seen so far."""

    def __init__(self, settings: Settings, store: Store, bundles: Sequence[Bundle] | None = None) -> None:
        self.settings = settings
        self.store = store
        served = tuple(bundles) if bundles else (airflow_v1(),)
        self.bundles = (*served, control_bundle()) if settings.control else served
        self.health = Health()
        self.served = {bundle.name: Served(bundle, _validator(settings, bundle), dict(bundle.handlers),
                                           _steps_of(bundle))
                       for bundle in self.bundles}
        self.router = build_router(self.bundles)
        self.namespaces = Namespaces(Namespace("default", store, Journal(limit=settings.journal_limit)),
                                     self._new_store, settings.journal_limit, settings.max_namespaces)
        self.control_checks = ControlChecks(control_bundle().spec)

    @property
    def control(self) -> Control:
        """The controls of the default namespace (`.namespace(name)` for another one)."""
        return Control(self, self.namespaces.default)

    def _new_store(self) -> Store:
        return Store(self.store.seed, clock=Clock(seed=self.settings.seed))


    def operation(self, operation_id: str) -> tuple[Served, Operation] | None:
        """The observed bundle serving `operation_id`, and the operation."""
        for served in self.served.values():
            op = served.bundle.spec.operations.get(operation_id)
            if op is not None and served.bundle.observed:
                return served, op
        return None

    @property
    def pipeline(self) -> Served:
        """The first bundle (the Airflow API) as served: `app.pipeline.handlers[...]` swaps one."""
        return self.served[self.bundles[0].name]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return  # nothing to start or stop
        scope[SCOPE_KEY] = self
        scope[RAW_SEND] = send  # the server's own send: a fault may need its connection
        await self.router(scope, receive, send)

    async def dispatch(self, bundle: Bundle, op: Operation, request: Request) -> Response:
        body = await request.body()
        reply = self.handle(bundle, op, request, body)
        if reply.delay_ms:
            await asyncio.sleep(reply.delay_ms / 1000)
        if reply.disconnect is not None:
            return DisconnectResponse(reply.disconnect, render(reply))
        return render(reply)

    def handle(self, bundle: Bundle, op: Operation, request: Request, body: bytes) -> Reply:
        served = self.served[bundle.name]
        try:
            namespace = self.namespaces.get(request.headers.get(HEADER))
        except ApiError as refused:
            return problem_reply(refused)
        raw = RawRequest(path_params=dict(request.path_params), query=request.query_params.multi_items(),
                         content_type=request.headers.get("content-type"), body=body)
        exchange = Exchange(app=self, bundle=bundle, op=op, method=request.method, url_path=request.url.path,
                            raw=raw, headers=request.headers, settings=self.settings, namespace=namespace,
                            store=namespace.store, validator=served.validator, handlers=served.handlers,
                            health=self.health)
        return run(served.steps, exchange)

    async def not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope.get("path", "")
        if any(bundle.owns(path) for bundle in self.bundles):
            response: Response = render(problem_reply(RouteNotFound()))
        else:
            response = HTMLResponse(_HTML_404, status_code=404)
        self._journal_unrouted(Request(scope), 404)
        await response(scope, receive, send)

    def method_not_allowed(self, allowed: list[str], request: Request) -> Response:
        # Airflow forgets the Allow header; RFC 9110 asks for it on a 405, so mockflow sends it.
        response = render(problem_reply(MethodNotAllowed()))
        response.headers["Allow"] = ", ".join(allowed)
        self._journal_unrouted(request, 405)
        return response

    def _journal_unrouted(self, request: Request, status: int) -> None:
        """A request no operation answered is still journaled (but never one for the controls)."""
        if not self.settings.control or request.url.path.startswith(control_bundle().prefix + "/"):
            return
        try:
            namespace = self.namespaces.get(request.headers.get(HEADER))
        except ApiError:
            return
        namespace.journal.add(time=namespace.store.clock.now(), method=request.method, path=request.url.path,
                              query=request.query_params.multi_items(), raw_headers=request.headers, raw_body=b"",
                              status=status, request_valid=False,
                              request_problem="no operation of the API answers this method and path")


def _validator(settings: Settings, bundle: Bundle) -> Validator:
    # The controls are always validated: `validation="off"` is for benchmarking the Airflow API.
    engine = settings.validation if bundle.observed else "compiled"
    return Validator(engine, bundle.spec, optional_body_defaults=bundle.optional_body_defaults)


def _steps_of(bundle: Bundle) -> tuple[Step, ...]:
    observing: tuple[Step, ...] = (record_in_journal,) if bundle.observed else ()
    faulting: tuple[Step, ...] = (inject_faults,) if bundle.observed else ()
    return (*observing, *OUTER_STEPS, *faulting, *bundle.steps)


def render(reply: Reply) -> Response:
    """The one place a reply becomes bytes: JSON pretty-printed like Airflow, text as it is."""
    if reply.status == 204 or (reply.body is None and reply.status < 300 and not reply.validate):
        return Response(status_code=reply.status, headers=reply.headers, media_type=reply.content_type)
    if isinstance(reply.body, (bytes, str)):
        return Response(reply.body, status_code=reply.status, headers=reply.headers, media_type=reply.content_type)
    return Response(dump_json(reply.body), status_code=reply.status, headers=reply.headers,
                    media_type=reply.content_type)


_HTML_404 = "<!DOCTYPE html>\n<html><head><title>Airflow 404</title></head><body><h1>404</h1></body></html>\n"


def create_app(settings: Settings | None = None, store: Store | None = None,
               bundles: Sequence[Bundle] | None = None) -> MockflowApp:
    """Build an app. Without a store, one is seeded from the settings' fixture sets (or the default);
    without bundles, it serves the Airflow 2.5.3 v1 API."""
    settings = settings or Settings()
    settings.check()
    if store is None:
        store = seeded_store(settings.fixtures)
        store.clock = Clock(seed=settings.seed)  # the one random source follows the settings
    return MockflowApp(settings, store, bundles)
