"""`create_app()`: the ASGI app, and the one path every API request takes through it.

A request flows: routing (404/405) -> request validation (400/415, typed parameters and body)
-> authentication (401) -> authorisation (403) -> audit row -> handler -> response validation
-> client. This is the real server's order (behaviour reference 0.1), which decides which error
wins when several apply. The handler runs under the store lock and never awaits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send

from mockflow.api import Handler, collect_handlers
from mockflow.api.context import Call, Reply
from mockflow.api.errors import problem_for
from mockflow.audit import write_audit_row
from mockflow.auth import PUBLIC_OPERATIONS, authenticate, authorize
from mockflow.fixtureset.cache import seeded_store
from mockflow.problems import (
    PROBLEM_CONTENT_TYPE,
    ApiError,
    MethodNotAllowed,
    ResponseInvalid,
    RouteNotFound,
    dump_json,
)
from mockflow.routing import SCOPE_KEY, build_router
from mockflow.settings import Settings
from mockflow.spec import API_PREFIX, Operation, load_spec
from mockflow.store import Store
from mockflow.store.errors import DomainError
from mockflow.validation import RawRequest, Validator

log = logging.getLogger("mockflow")


class NotImplementedYet(ApiError):
    status = 501
    default_title = "Not Implemented"
    type_name = "Unknown"


@dataclass
class Health:
    """Bugs mockflow found in itself while serving: responses its spec forbids, crashes."""

    invalid_responses: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)


class Pipeline:
    def __init__(self, settings: Settings, store: Store, handlers: dict[str, Handler]) -> None:
        self.settings = settings
        self.store = store
        self.handlers = handlers
        self.validator = Validator(settings.validation)
        self.health = Health()

    async def dispatch(self, op: Operation, request: Request) -> Response:
        body = await request.body()
        return self.handle(op, request, body)

    def handle(self, op: Operation, request: Request, body: bytes) -> Response:
        try:
            reply = self._run(op, request, body)
        except ApiError as error:
            return self._problem(op, error)
        except DomainError as refused:
            return self._problem(op, problem_for(refused, op.operation_id))
        except Exception as crash:  # a mockflow bug: answer a problem, never a stack trace
            log.exception("handler for %s crashed", op.operation_id)
            self.health.crashes.append(f"{op.operation_id}: {crash!r}")
            return self._problem(op, ApiError(f"mockflow crashed in {op.operation_id}: {crash!r}"))
        return self._render(op, reply)

    def _run(self, op: Operation, request: Request, body: bytes) -> Reply:
        raw = RawRequest(
            path_params=dict(request.path_params),
            query=request.query_params.multi_items(),
            content_type=request.headers.get("content-type"),
            body=body,
        )
        valid = self.validator.check_request(op, raw)
        handler = self.handlers.get(op.operation_id)
        with self.store.lock:
            state = self.store.state
            now = self.store.clock.now()
            if op.operation_id in PUBLIC_OPERATIONS:
                caller = authenticate(state, None, "none", now)
            else:
                caller = authenticate(state, request.headers.get("authorization"), self.settings.auth, now)
                authorize(caller, op.operation_id, valid.path, state)
            write_audit_row(state, op.operation_id, owner=caller.username, query=valid.raw_query,
                            path=valid.path, now=now)
            if handler is None:
                raise NotImplementedYet(f"mockflow does not implement {op.operation_id} yet")
            call = Call(op=op, path=valid.path, query=valid.query, body=valid.body, raw_query=valid.raw_query,
                        caller=caller, store=self.store, state=state, settings=self.settings,
                        headers=request.headers, now=now)
            result = handler(call)
        return result if isinstance(result, Reply) else Reply(body=result)

    def _render(self, op: Operation, reply: Reply) -> Response:
        if reply.status == 204 or (reply.body is None and reply.status < 300 and not reply.validate):
            return Response(status_code=reply.status, headers=reply.headers, media_type=reply.content_type)
        if not reply.validate or isinstance(reply.body, (bytes, str)):
            return Response(reply.body, status_code=reply.status, headers=reply.headers, media_type=reply.content_type)
        try:
            self.validator.check_response(op, reply.status, reply.body)
        except ResponseInvalid as invalid:
            return self._problem(op, invalid)
        return Response(dump_json(reply.body), status_code=reply.status, headers=reply.headers,
                        media_type=reply.content_type)

    def _problem(self, op: Operation | None, error: ApiError) -> Response:
        body = error.body()
        if op is not None and not isinstance(error, ResponseInvalid):
            try:
                self.validator.check_response(op, error.status, body)
            except ResponseInvalid as invalid:
                error, body = invalid, invalid.body()
        if isinstance(error, ResponseInvalid) or error.status >= 500:
            log.error("mockflow bug: %s", error.detail)
            if isinstance(error, ResponseInvalid):
                self.health.invalid_responses.append(str(error.detail))
        return Response(dump_json(body), status_code=error.status, media_type=PROBLEM_CONTENT_TYPE)


class MockflowApp:
    """The ASGI app. `store` is the live store; `health` lists mockflow's own bugs seen so far."""

    def __init__(self, settings: Settings, store: Store) -> None:
        spec = load_spec()
        self.settings = settings
        self.store = store
        self.pipeline = Pipeline(settings, store, collect_handlers(set(spec.operations)))
        self.router = build_router()

    @property
    def health(self) -> Health:
        return self.pipeline.health

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            return  # nothing to start or stop
        scope[SCOPE_KEY] = self
        await self.router(scope, receive, send)

    async def dispatch(self, op: Operation, request: Request) -> Response:
        return await self.pipeline.dispatch(op, request)

    async def not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope.get("path", "")
        if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
            response: Response = _problem_response(RouteNotFound())
        else:
            response = HTMLResponse(_HTML_404, status_code=404)
        await response(scope, receive, send)

    def method_not_allowed(self, allowed: list[str]) -> Response:
        # Airflow forgets the Allow header; RFC 9110 asks for it on a 405, so mockflow sends it.
        response = _problem_response(MethodNotAllowed())
        response.headers["Allow"] = ", ".join(allowed)
        return response


def _problem_response(error: ApiError) -> Response:
    return Response(dump_json(error.body()), status_code=error.status, media_type=PROBLEM_CONTENT_TYPE)


_HTML_404 = "<!DOCTYPE html>\n<html><head><title>Airflow 404</title></head><body><h1>404</h1></body></html>\n"


def create_app(settings: Settings | None = None, store: Store | None = None) -> MockflowApp:
    """Build an app. Without a store, one is seeded from the settings' fixture sets (or the default)."""
    settings = settings or Settings()
    settings.check()
    if store is None:
        store = seeded_store(settings.fixtures)
    return MockflowApp(settings, store)
