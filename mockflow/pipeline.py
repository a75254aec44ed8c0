"""The request path as an ordered list of small steps, each able to answer or pass the request on.

A step is `step(exchange, call_next) -> Reply`. The app runs its own outer steps (response
checks, error rendering; later the journal, faults and namespaces) around the steps of the bundle
that owns the route. For the Airflow API the order is the real server's (behaviour reference
0.1), which decides which error wins:

    check_response -> render_errors -> validate_request -> hold_store -> authenticate
    -> authorize -> audit -> call_handler

Every step is synchronous: the body is read before the first step runs, and the store lock
(taken by `hold_store`) is never held across an await.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mockflow.api.context import Call, Reply
from mockflow.api.errors import problem_for
from mockflow.audit import write_audit_row
from mockflow.auth import UNRESTRICTED, Caller, authenticate, authorize
from mockflow.problems import PROBLEM_CONTENT_TYPE, ApiError, ResponseInvalid
from mockflow.simulation.step import simulate
from mockflow.spec import Operation
from mockflow.store.errors import DomainError
from mockflow.store.state import State
from mockflow.validation import RawRequest, Validator, ValidRequest
from mockflow.values import value_class

if TYPE_CHECKING:
    from mockflow.app import MockflowApp
    from mockflow.bundle import Bundle, Handler
    from mockflow.control.namespaces import Namespace
    from mockflow.settings import Settings
    from mockflow.store import Store

log = logging.getLogger("mockflow")

Next = Callable[["Exchange"], Reply]
Step = Callable[["Exchange", Next], Reply]


@value_class
class Health:
    """Bugs mockflow found in itself while serving: responses its spec forbids, crashes."""

    invalid_responses: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)


class NotImplementedYet(ApiError):
    status = 501
    default_title = "Not Implemented"
    type_name = "Unknown"


class RequestHeaders(Mapping[str, str]):
    """A request's headers as Starlette's `Headers` reads them (a name in any case; the first of a
    repeated name is its value; `items()` lists every pair as sent), decoded once for all lookups:
    the steps read five or six headers per request, and Starlette decodes the list on each."""

    __slots__ = ("_first", "raw")

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self.raw = raw  # the ASGI scope's pairs, names in lower case
        self._first: dict[str, str] | None = None

    def _values(self) -> dict[str, str]:
        if self._first is None:
            # reversed, so that the first of a repeated name is the one left
            self._first = {name.decode("latin-1"): value.decode("latin-1") for name, value in reversed(self.raw)}
        return self._first

    def __getitem__(self, name: str) -> str:
        return self._values()[name.lower()]

    def get(self, name: str, default: Any = None) -> Any:
        return self._values().get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._values()

    def __iter__(self) -> Iterator[str]:
        return (name.decode("latin-1") for name, _ in self.raw)  # every name as sent, repeats too

    def __len__(self) -> int:
        return len(self.raw)

    def items(self) -> list[tuple[str, str]]:  # type: ignore[override]  # every pair, as Starlette gives
        return [(name.decode("latin-1"), value.decode("latin-1")) for name, value in self.raw]


@value_class(slots=True)
class Exchange:
    """One request on its way through the steps, and what they learnt about it."""

    app: MockflowApp
    bundle: Bundle
    op: Operation
    method: str
    url_path: str
    raw: RawRequest
    headers: Mapping[str, str]
    settings: Settings
    namespace: Namespace
    store: Store  # the namespace's
    validator: Validator
    handlers: Mapping[str, Handler]
    health: Health
    valid: ValidRequest | None = None
    state: State | None = None  # the live state, while `hold_store` holds the lock
    now: datetime | None = None  # one instant per request
    caller: Caller | None = None
    notes: dict[str, Any] = field(default_factory=dict)  # what steps tell later ones (and the journal)


def compose(steps: Sequence[Step]) -> Next:
    """The steps as one callable, built once per bundle: each step's `call_next` is made here,
    not per request (a request then costs one call per step, not a closure per step)."""
    chain: Next = _nothing_answered
    for step in reversed(steps):
        chain = _link(step, chain)
    return chain


def _link(step: Step, call_next: Next) -> Next:
    def linked(ex: Exchange) -> Reply:
        return step(ex, call_next)

    return linked


def run(steps: Sequence[Step], exchange: Exchange) -> Reply:
    """Runs `steps` in order; each decides whether the next one runs."""
    return compose(steps)(exchange)


def _nothing_answered(exchange: Exchange) -> Reply:
    raise NotImplementedYet(f"no step answered {exchange.op.operation_id}")


# --- the app's outer steps --------------------------------------------------------------------

def check_response(ex: Exchange, call_next: Next) -> Reply:
    """A reply the spec forbids is a mockflow bug: a 500 problem naming the place, kept in health."""
    reply = call_next(ex)
    if not reply.validate or reply.status == 204 or isinstance(reply.body, (bytes, str)) or reply.body is None:
        return reply
    try:
        ex.validator.check_response(ex.op, reply.status, reply.body)
    except ResponseInvalid as invalid:
        log.error("mockflow bug: %s", invalid.detail)
        ex.health.invalid_responses.append(str(invalid.detail))
        ex.notes["response_valid"], ex.notes["response_problem"] = False, str(invalid.detail)
        return problem_reply(invalid)
    ex.notes["response_valid"] = True
    return reply


def render_errors(ex: Exchange, call_next: Next) -> Reply:
    """Every error becomes a problem reply here, and only here."""
    try:
        return call_next(ex)
    except ApiError as error:
        return problem_reply(error)
    except DomainError as refused:
        return problem_reply(problem_for(refused, ex.op.operation_id, ex.bundle.texts))
    except Exception as crash:  # a mockflow bug: answer a problem, never a stack trace
        log.exception("handler for %s crashed", ex.op.operation_id)
        ex.health.crashes.append(f"{ex.op.operation_id}: {crash!r}")
        return problem_reply(ApiError(f"mockflow crashed in {ex.op.operation_id}: {crash!r}"))


def problem_reply(error: ApiError) -> Reply:
    if error.status >= 500:
        log.error("mockflow answered %s: %s", error.status, error.detail)
    return Reply(status=error.status, body=error.body(), content_type=PROBLEM_CONTENT_TYPE)


# --- the bundle's steps -----------------------------------------------------------------------

def validate_request(ex: Exchange, call_next: Next) -> Reply:
    try:
        ex.valid = ex.validator.check_request(ex.op, ex.raw)
    except ApiError as refused:
        ex.notes["request_problem"] = refused.detail  # the journal shows why
        raise
    return call_next(ex)


def hold_store(ex: Exchange, call_next: Next) -> Reply:
    with ex.store.lock:
        ex.state = ex.store.state
        ex.now = ex.store.clock.now()
        return call_next(ex)


def authenticate_basic(ex: Exchange, call_next: Next) -> Reply:
    assert ex.state is not None
    if ex.op.operation_id in ex.bundle.public_operations:
        ex.caller = authenticate(ex.state, None, "none", ex.now)
    else:
        ex.caller = authenticate(ex.state, ex.headers.get("authorization"), ex.settings.auth, ex.now)
    return call_next(ex)


def open_access(ex: Exchange, call_next: Next) -> Reply:
    """For bundles guarded otherwise (or not at all): the caller may do everything."""
    ex.caller = UNRESTRICTED
    return call_next(ex)


def authorize_operation(ex: Exchange, call_next: Next) -> Reply:
    assert ex.caller is not None and ex.valid is not None
    if ex.op.operation_id not in ex.bundle.public_operations:
        authorize(ex.caller, ex.bundle.permissions.get(ex.op.operation_id, ()), ex.valid.path, ex.state)
    return call_next(ex)


def audit(ex: Exchange, call_next: Next) -> Reply:
    event = ex.bundle.audited_events.get(ex.op.operation_id)
    if event is not None:
        assert ex.state is not None and ex.valid is not None and ex.caller is not None and ex.now is not None
        write_audit_row(ex.state, event, owner=ex.caller.username, query=ex.valid.raw_query, path=ex.valid.path,
                        now=ex.now)
    return call_next(ex)


def call_handler(ex: Exchange, call_next: Next) -> Reply:
    handler = ex.handlers.get(ex.op.operation_id)
    if handler is None:
        raise NotImplementedYet(f"mockflow does not implement {ex.op.operation_id} yet")
    assert ex.valid is not None and ex.caller is not None and ex.state is not None and ex.now is not None
    call = Call(op=ex.op, path=ex.valid.path, query=ex.valid.query, body=ex.valid.body,
                raw_query=ex.valid.raw_query, caller=ex.caller, store=ex.store, state=ex.state,
                settings=ex.settings, headers=ex.headers, now=ex.now)
    result = handler(call)
    return result if isinstance(result, Reply) else Reply(body=result)


# The request path of an Airflow-style bundle, after the app's outer steps.
AIRFLOW_STEPS: tuple[Step, ...] = (validate_request, hold_store, simulate, authenticate_basic, authorize_operation,
                                   audit, call_handler)
# What the app runs around every bundle's steps (observed bundles get the journal and faults first).
OUTER_STEPS: tuple[Step, ...] = (check_response, render_errors)
