"""The steps the controls add to the request path: the journal and faults around the Airflow API,
and the token guard in front of the control API itself."""

from __future__ import annotations

import dataclasses
import hmac
import re
import time

from mockflow.api.context import Reply
from mockflow.auth import parse_basic
from mockflow.control.faults import Effect, FaultedRequest, Match, Rule
from mockflow.pipeline import Exchange, Next
from mockflow.problems import PROBLEM_CONTENT_TYPE, BadRequest, Unauthenticated

_ANY = Match()
_PREFER_CODE = re.compile(r"(?:^|[;,\s])code=(\d{3})(?:$|[;,\s])")


def record_in_journal(ex: Exchange, call_next: Next) -> Reply:
    """Outermost step of observed bundles: every request, its answer and the verdicts on both."""
    started = time.perf_counter()
    reply = call_next(ex)
    notes = ex.notes
    ex.namespace.journal.add(
        time=ex.now or ex.store.clock.now(), method=ex.method, path=ex.url_path, query=ex.raw.query,
        raw_headers=ex.headers, raw_body=ex.raw.body, status=reply.status, operation_id=ex.op.operation_id,
        duration_ms=(time.perf_counter() - started) * 1000,
        user=ex.caller.username if ex.caller is not None else _claimed_user(ex),
        fault_id=notes.get("fault_id"), request_valid="request_problem" not in notes,
        request_problem=notes.get("request_problem"), response_valid=notes.get("response_valid"),
        response_problem=notes.get("response_problem"))
    return reply


def inject_faults(ex: Exchange, call_next: Next) -> Reply:
    """The first fault rule that fires answers instead of the stateful behaviour."""
    rule = _header_rule(ex) if ex.settings.fault_header else None
    if rule is None and ex.namespace.faults.rules:
        request = FaultedRequest(ex.op.operation_id, ex.method, ex.url_path, ex.raw.path_params, ex.raw.query,
                                 ex.headers.get("authorization"), ex.raw.body)
        rule = ex.namespace.faults.pick(request, ex.store.clock.random)
    if rule is None:
        return call_next(ex)
    ex.notes["fault_id"] = rule.id
    return _apply(rule, ex, call_next)


def _apply(rule: Rule, ex: Exchange, call_next: Next) -> Reply:
    effect = rule.effect
    if effect.disconnect == "truncate" and effect.status is None and not effect.has_body:
        return dataclasses.replace(call_next(ex), disconnect="truncate", delay_ms=effect.delay_ms)
    if not effect.answers:  # only a delay: the request goes through, late
        return dataclasses.replace(call_next(ex), delay_ms=effect.delay_ms)
    if effect.has_body:
        reply = Reply(status=effect.status or 200, body=effect.body, headers=dict(effect.headers),
                      validate=not rule.force)
    else:
        reply = Reply(status=effect.status or 500, body=effect.problem_body(), content_type=PROBLEM_CONTENT_TYPE,
                      headers=dict(effect.headers), validate=not rule.force)
    return dataclasses.replace(reply, delay_ms=effect.delay_ms, disconnect=effect.disconnect)


def _header_rule(ex: Exchange) -> Rule | None:
    """`Prefer: code=503` arms a one-off fault for this request (when the setting allows it)."""
    found = _PREFER_CODE.search(ex.headers.get("prefer", ""))
    if found is None:
        return None
    status = int(found.group(1))
    if str(status) not in ex.op.responses:
        declared = ", ".join(sorted(ex.op.responses))
        raise BadRequest(f"{ex.op.operation_id} does not declare status {status}; it declares {declared}",
                         title="Invalid Prefer header")
    return Rule(id="prefer-header", match=_ANY, effect=Effect(status=status), times=1)


def guard_control(ex: Exchange, call_next: Next) -> Reply:
    """With a control token set, a control call without it is refused before it changes anything
    (the bundle's public operations, the inspector page, hold no data and need none)."""
    token = ex.settings.control_token
    if token is not None and ex.op.operation_id not in ex.bundle.public_operations:
        sent = ex.headers.get("x-mockflow-token") or _bearer(ex.headers.get("authorization"))
        if sent is None or not hmac.compare_digest(sent.encode(), token.encode()):
            raise Unauthenticated("This mockflow's control API needs its token: send "
                                  "'Authorization: Bearer <MOCKFLOW_CONTROL_TOKEN>'",
                                  title="Control token required")
    return call_next(ex)


def _bearer(header: str | None) -> str | None:
    if header and header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


def _claimed_user(ex: Exchange) -> str | None:
    credentials = parse_basic(ex.headers.get("authorization"))
    return credentials[0] if credentials else None
