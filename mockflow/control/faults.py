"""Canned faults: ordered rules, first match wins, each with a lifetime.

A rule matches requests (by operationId, or method and path glob, optionally path parameters,
query values, the Basic-auth user and dotted body fields) and answers instead of the stateful
behaviour: an Airflow-shaped problem with a status, or a given body and headers, after an
optional delay; on a live server it can also drop, reset or truncate the connection. `after`
lets the first N matches through, `times` bounds how many it answers (None: until removed), and
`probability` draws from the namespace's seeded random source.
"""

from __future__ import annotations

import fnmatch
import functools
import threading
from collections.abc import Mapping
from dataclasses import field
from random import Random
from typing import Any

import orjson

from mockflow.auth import parse_basic
from mockflow.problems import DOCS_URL
from mockflow.values import value_class

JSON = dict[str, Any]

# Airflow's problem titles and type names by status, for problem bodies a rule asks for.
_PROBLEMS: dict[int, tuple[str, str]] = {
    400: ("Bad Request", "BadRequest"),
    401: ("Unauthorized", "Unauthenticated"),
    403: ("Forbidden", "PermissionDenied"),
    404: ("Not Found", "NotFound"),
    409: ("Conflict", "AlreadyExists"),
    500: ("Internal Server Error", "Unknown"),
}


@value_class(frozen=True, slots=True)
class Match:
    operation_id: str | None = None
    method: str | None = None
    path: str | None = None  # glob over the URL path
    path_params: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    user: str | None = None
    body: Mapping[str, Any] = field(default_factory=dict)  # dotted path -> value

    def admits(self, request: FaultedRequest) -> bool:
        return ((self.operation_id is None or request.operation_id == self.operation_id)
                and (self.method is None or request.method == self.method.upper())
                and (self.path is None or fnmatch.fnmatchcase(request.path, self.path))
                and all(str(request.path_params.get(k)) == v for k, v in self.path_params.items())
                and all(request.query.get(k) == v for k, v in self.query.items())
                and (self.user is None or request.user == self.user)
                and all(_dig(request.body, dotted) == value for dotted, value in self.body.items()))

    def to_wire(self) -> JSON:
        wire: JSON = {}
        for name in ("operation_id", "method", "path", "user"):
            if getattr(self, name) is not None:
                wire[name] = getattr(self, name)
        for name in ("path_params", "query", "body"):
            if getattr(self, name):
                wire[name] = dict(getattr(self, name))
        return wire


@value_class(frozen=True, slots=True)
class Effect:
    status: int | None = None
    title: str | None = None
    detail: str | None = None
    body: Any = None
    has_body: bool = False  # a canned body was given (it may be null)
    headers: Mapping[str, str] = field(default_factory=dict)
    delay_ms: int = 0
    disconnect: str | None = None  # drop | reset | truncate

    @property
    def answers(self) -> bool:
        """Whether this effect replaces the answer (a pure delay lets the request through)."""
        return self.status is not None or self.has_body or self.disconnect is not None

    def problem_body(self) -> JSON:
        status = self.status or 500
        title, type_name = _PROBLEMS.get(status, (None, None))
        return {"detail": self.detail if self.detail is not None else f"mockflow fault injected: {status}",
                "status": status, "title": self.title if self.title is not None else title,
                "type": DOCS_URL + type_name if type_name else "about:blank"}

    def to_wire(self) -> JSON:
        wire: JSON = {}
        for name in ("status", "title", "detail", "disconnect"):
            if getattr(self, name) is not None:
                wire[name] = getattr(self, name)
        if self.has_body:
            wire["body"] = self.body
        if self.headers:
            wire["headers"] = dict(self.headers)
        if self.delay_ms:
            wire["delay_ms"] = self.delay_ms
        return wire


@value_class(slots=True)
class Rule:
    id: str
    match: Match
    effect: Effect
    times: int | None = None
    after: int = 0
    probability: float = 1.0
    force: bool = False
    matched: int = 0
    answered: int = 0

    @property
    def spent(self) -> bool:
        return self.times is not None and self.answered >= self.times

    def to_wire(self) -> JSON:
        return {"id": self.id, "match": self.match.to_wire(), "effect": self.effect.to_wire(), "times": self.times,
                "after": self.after, "probability": self.probability, "force": self.force,
                "matched": self.matched, "answered": self.answered}


class FaultedRequest:
    """What a rule can look at, taken from the raw request before any validation. The user and
    the body are parsed only if a rule asks for them."""

    def __init__(self, operation_id: str | None, method: str, path: str, path_params: Mapping[str, Any],
                 query: list[tuple[str, str]], authorization: str | None, body: bytes) -> None:
        self.operation_id = operation_id
        self.method = method
        self.path = path
        self.path_params = path_params
        self._query = query
        self._authorization = authorization
        self._body = body

    @functools.cached_property
    def query(self) -> dict[str, str]:
        return dict(self._query)  # the last value of each name

    @functools.cached_property
    def user(self) -> str | None:
        credentials = parse_basic(self._authorization)
        return credentials[0] if credentials else None

    @functools.cached_property
    def body(self) -> Any:
        try:
            return orjson.loads(self._body) if self._body else None
        except orjson.JSONDecodeError:
            return None


@value_class
class Faults:
    rules: list[Rule] = field(default_factory=list)
    _last_id: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, rule: Rule) -> Rule:
        with self._lock:
            self.rules.append(rule)
            return rule

    def next_id(self) -> str:
        with self._lock:
            self._last_id += 1
            while any(rule.id == f"fault-{self._last_id}" for rule in self.rules):
                self._last_id += 1
            return f"fault-{self._last_id}"

    def find(self, rule_id: str) -> Rule | None:
        return next((rule for rule in self.rules if rule.id == rule_id), None)

    def remove(self, rule_id: str) -> bool:
        with self._lock:
            before = len(self.rules)
            self.rules = [rule for rule in self.rules if rule.id != rule_id]
            return len(self.rules) < before

    def clear(self) -> None:
        with self._lock:
            self.rules = []

    def pick(self, request: FaultedRequest, random: Random) -> Rule | None:
        """The first live rule that matches and fires for this request; counts it."""
        with self._lock:
            for rule in self.rules:
                if rule.spent or not rule.match.admits(request):
                    continue
                rule.matched += 1
                if rule.matched <= rule.after:
                    continue
                if rule.probability < 1.0 and random.random() >= rule.probability:
                    continue
                rule.answered += 1
                return rule
            return None


def _dig(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return _ABSENT
    return data


class _Absent:
    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = None  # type: ignore[assignment]


_ABSENT = _Absent()
