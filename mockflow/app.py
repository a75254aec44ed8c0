"""`create_app()`: the ASGI app that serves API bundles over the stores of its namespaces.

A request is routed (404 / 405 / OPTIONS) to the bundle that owns its path and to the namespace
its `X-Mockflow-Namespace` header names, then runs the steps in order: for observed bundles (the
Airflow API) the journal and faults first, then the response check and the error renderer, then
the bundle's own steps (`mockflow.pipeline`). The reply becomes bytes in one place, `render`.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from collections.abc import Sequence
from dataclasses import field
from typing import Any
from urllib.parse import parse_qsl, quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.types import Message, Receive, Scope, Send

from mockflow.api.bundle import airflow_v1
from mockflow.api.context import Reply
from mockflow.bundle import Bundle, Handler
from mockflow.clock import Clock
from mockflow.control.bundle import control_bundle
from mockflow.control.checks import ControlChecks
from mockflow.control.facade import Control
from mockflow.control.journal import Entry, Journal
from mockflow.control.namespaces import HEADER, Namespace, Namespaces
from mockflow.control.steps import inject_faults, record_in_journal
from mockflow.disconnect import RAW_SEND, DisconnectResponse, FaultDisconnect
from mockflow.fixtureset.cache import seeded_store
from mockflow.limits import CONTROL_MAX_JSON_DEPTH, FIXTURE_DEPTH_NAME, ClientLeft, Limits, edge_refusal, read_body
from mockflow.pipeline import OUTER_STEPS, Exchange, Health, Next, RequestHeaders, Step, compose, problem_reply
from mockflow.problems import PROBLEM_CONTENT_TYPE, ApiError, MethodNotAllowed, PayloadTooLarge, RouteNotFound
from mockflow.rendering import dump_json
from mockflow.routing import SCOPE_KEY, build_router
from mockflow.settings import Settings
from mockflow.spec import Operation
from mockflow.store import Store
from mockflow.validation import RawRequest, Validator
from mockflow.values import value_class

log = logging.getLogger("mockflow")
# The operation a request was routed to, kept in its scope so a crash after the steps can name it.
OPERATION_KEY = "mockflow.operation"


@value_class
class Served:
    """One bundle as this app serves it: its validator, its steps, and handlers a test may swap.
    The steps are composed once (`chain`); setting `steps` composes them again, so a benchmark or
    a test that drops or adds one is served by what it set."""

    bundle: Bundle
    validator: Validator
    handlers: dict[str, Handler]
    steps: tuple[Step, ...]
    chain: Next = field(init=False, repr=False)

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        if name == "steps":
            super().__setattr__("chain", compose(value))


class MockflowApp:
    """The ASGI app. `store` is the default namespace's live store; `control` its controls;
    `health` lists mockflow's own bugs seen so far."""

    def __init__(self, settings: Settings, store: Store, bundles: Sequence[Bundle] | None = None) -> None:
        self.settings = settings
        self.store = store
        served = tuple(bundles) if bundles else (airflow_v1(),)
        self.bundles = (*served, control_bundle()) if settings.control else served
        self.health = Health()
        self.limits = Limits.of(settings)
        self.served = {bundle.name: _served(settings, bundle) for bundle in self.bundles}
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
        refused = edge_refusal(scope, self.limits) if scope["type"] == "http" else None
        if refused is not None:
            await self._refuse(Request(scope), refused)(scope, receive, send)
            return
        watched = _WatchedSend(send)
        try:
            await self.router(scope, receive, watched)
        except FaultDisconnect:
            raise  # in-process, the broken connection a fault rule asked for
        except Exception as crash:  # outside the steps: still a problem body, and a known bug
            where = scope.get(OPERATION_KEY) or f"{scope.get('method')} {scope.get('path')}"
            answer = self._crashed(str(where), "serving the request", crash)
            if not watched.started:
                await answer(scope, receive, send)

    async def dispatch(self, bundle: Bundle, op: Operation, request: Request) -> Response:
        request.scope[OPERATION_KEY] = op.operation_id
        try:
            body = await read_body(request.receive, self.limits)
        except ClientLeft:
            log.info("client left before sending the whole body of %s %s", request.method, request.url.path)
            return Response(status_code=400)  # nobody is left to read it
        except PayloadTooLarge as refused:
            return self._refuse(request, refused)
        reply, notes = self.handle(bundle, op, request, body)
        if reply.delay_ms:
            await asyncio.sleep(reply.delay_ms / 1000)
        try:
            response = render(reply)
        except Exception as crash:  # a body the encoder refuses (it would be uvicorn's text/plain 500)
            response = self._crashed(op.operation_id, "encoding its answer", crash)
            entry: Entry | None = notes.get("journal_entry")
            if entry is not None:
                entry.answered_instead(response.status_code, self.health.crashes[-1])
        if reply.disconnect is not None:
            return DisconnectResponse(reply.disconnect, response)
        return response

    def _crashed(self, where: str, doing: str, crash: Exception) -> Response:
        """A mockflow bug outside the steps: logged, kept in health, answered as a 500 problem."""
        log.error("mockflow crashed in %s while %s", where, doing, exc_info=crash)
        self.health.crashes.append(f"{where} ({doing}): {crash!r}")
        return render(problem_reply(ApiError(f"mockflow crashed in {where} while {doing}: {crash!r}")))

    def _refuse(self, request: Request, refused: ApiError) -> Response:
        """A limit broken before any step ran: a problem body, journaled like other requests."""
        self._journal_unrouted(request, refused.status, str(refused.detail))
        return render(problem_reply(refused))

    def handle(self, bundle: Bundle, op: Operation, request: Request, body: bytes) -> tuple[Reply, dict[str, Any]]:
        """The reply of the bundle's steps, and the notes they left (the journal entry among them)."""
        served = self.served[bundle.name]
        headers = RequestHeaders(request.scope["headers"])
        try:
            namespace = self.namespaces.get(headers.get(HEADER))
        except ApiError as refused:
            return problem_reply(refused), {}
        raw = RawRequest(path_params=dict(request.path_params), query=query_items(request.scope),
                         content_type=headers.get("content-type"), body=body)
        exchange = Exchange(app=self, bundle=bundle, op=op, method=request.method, url_path=url_path(request.scope),
                            raw=raw, headers=headers, settings=self.settings, namespace=namespace,
                            store=namespace.store, validator=served.validator, handlers=served.handlers,
                            health=self.health)
        return served.chain(exchange), exchange.notes

    async def not_found(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope.get("path", "")
        if self.settings.control and path == control_bundle().prefix:
            # The inspector lives at `/_mockflow/`; its relative links need the slash.
            await _to_inspector(scope)(scope, receive, send)
            return
        if any(bundle.owns(path) for bundle in self.bundles):
            response: Response = render(problem_reply(RouteNotFound()))
        else:
            response = HTMLResponse(_HTML_404, status_code=404)
        self._journal_unrouted(Request(scope), 404, _UNROUTED)
        await response(scope, receive, send)

    async def redirect(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        """Werkzeug's answer to a path with repeated slashes: 308 to the merged path, an HTML page."""
        request = Request(scope)
        host = request.headers.get("host") or "{}:{}".format(*(scope.get("server") or ("localhost", 80)))
        query = scope.get("query_string", b"").decode("latin-1")
        # The path as sent, merged and percent-encoded (Werkzeug's iri_to_uri): a header is ASCII.
        sent: bytes = scope.get("raw_path") or (scope.get("root_path", "") + path).encode()
        if b"//" in sent:
            merged = quote(re.sub(rb"/{2,}", b"/", sent), safe=_URI_SAFE)
        else:  # the doubled slash was sent as %2F: only the decoded path has it, merged
            merged = quote((scope.get("root_path", "") + path).encode(), safe=_URI_SAFE.replace("%", ""))
        location = f"{scope.get('scheme', 'http')}://{host}{merged}" + (f"?{query}" if query else "")
        self._journal_unrouted(request, 308, _UNROUTED)
        shown = html.escape(location).replace("&#x27;", "&#39;")  # markupsafe's spelling
        body = _HTML_REDIRECT.format(url=shown)
        await HTMLResponse(body, status_code=308, headers={"Location": location})(scope, receive, send)

    def method_not_allowed(self, allowed: list[str], request: Request) -> Response:
        # Airflow forgets the Allow header; RFC 9110 asks for it on a 405, so mockflow sends it.
        response = render(problem_reply(MethodNotAllowed()))
        response.headers["Allow"] = ", ".join(allowed)
        self._journal_unrouted(request, 405, _UNROUTED)
        return response

    def _journal_unrouted(self, request: Request, status: int, problem: str) -> None:
        """A request no operation answered is still journaled (but never one for the controls)."""
        path: str = request.scope["path"]  # not `request.url`: it cannot be built for a non-ASCII query
        if not self.settings.control or path.startswith(control_bundle().prefix + "/"):
            return
        try:
            namespace = self.namespaces.get(request.headers.get(HEADER))
        except ApiError:
            return
        namespace.journal.add(time=namespace.store.clock.now(), method=request.method, path=path,
                              query=query_items(request.scope), raw_headers=request.headers, raw_body=b"",
                              status=status, request_valid=False, request_problem=problem)


_UNROUTED = "no operation of the API answers this method and path"
_URI_SAFE = "/%:@!$&'()*+,;=~"  # kept as sent: percent escapes and the path's reserved characters
_HTML_REDIRECT = ("<!doctype html>\n<html lang=en>\n<title>Redirecting...</title>\n<h1>Redirecting...</h1>\n"
                  "<p>You should be redirected automatically to the target URL: <a href=\"{url}\">{url}</a>. If not, "
                  "click the link.\n")


class _WatchedSend:
    """The server's send, noting whether an answer has begun (after that, no other can be sent)."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
        await self._send(message)


def _served(settings: Settings, bundle: Bundle) -> Served:
    return Served(bundle, _validator(settings, bundle), dict(bundle.handlers), _steps_of(bundle))


def _validator(settings: Settings, bundle: Bundle) -> Validator:
    # The controls are always validated: `validation="off"` is for benchmarking the Airflow API.
    # The controls carry fixture files, held to the fixture files' depth limit whatever the setting.
    if bundle.name == control_bundle().name:
        return Validator("compiled", bundle.spec, optional_body_defaults=bundle.optional_body_defaults,
                         max_json_depth=CONTROL_MAX_JSON_DEPTH, depth_setting=FIXTURE_DEPTH_NAME)
    return Validator(settings.validation, bundle.spec, optional_body_defaults=bundle.optional_body_defaults,
                     max_json_depth=settings.max_json_depth)


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
    content_type = _CONTENT_TYPES.get(reply.content_type)
    if content_type is not None and not reply.headers and reply.status >= 200 and reply.status != 304:
        return _JSONAnswer(dump_json(reply.body), reply.status, reply.content_type, content_type)
    return Response(dump_json(reply.body), status_code=reply.status, headers=reply.headers,
                    media_type=reply.content_type)


class _JSONAnswer(Response):
    """Starlette's Response for the common case (JSON bytes, no headers of the reply's own), its
    two headers made directly: the general `__init__` costs a request 2 microseconds."""

    def __init__(self, body: bytes, status: int, media_type: str, content_type: bytes) -> None:
        # Not Response.__init__: the same attributes, the headers in the order it would make them.
        self.status_code, self.media_type, self.background, self.body = status, media_type, None, body
        self.raw_headers = [(b"content-length", str(len(body)).encode("latin-1")), (b"content-type", content_type)]


# The JSON media types (no charset parameter added, unlike text/*), as header bytes.
_CONTENT_TYPES = {"application/json": b"application/json", PROBLEM_CONTENT_TYPE: PROBLEM_CONTENT_TYPE.encode()}


def query_items(scope: Scope) -> list[tuple[str, str]]:
    """The query's (name, value) pairs as Starlette's `query_params.multi_items()` gives them."""
    query: bytes = scope.get("query_string", b"")
    return parse_qsl(query.decode("latin-1"), keep_blank_values=True) if query else []


def url_path(scope: Scope) -> str:
    """`request.url.path` without building the whole URL (host parsing, unsplitting) per request:
    the escapes Starlette applies, and the characters `urlsplit` drops."""
    path: str = scope["path"]
    if any(char in path for char in _URL_ESCAPED):
        path = path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")
        path = path.replace("\t", "").replace("\r", "").replace("\n", "")
    return path


_URL_ESCAPED = "?#\\\t\r\n"


def _to_inspector(scope: Scope) -> Response:
    # Relative (`_mockflow/`), so it holds below any root path the server is mounted at.
    query = scope.get("query_string", b"").decode("latin-1")
    location = control_bundle().prefix.rsplit("/", 1)[-1] + "/" + (f"?{query}" if query else "")
    return RedirectResponse(location, status_code=308)


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
