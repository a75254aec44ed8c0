"""The request journal: what clients sent to the Airflow API and what mockflow answered.

Bounded (oldest entries are dropped first, and counted), filterable by operationId, method, path
glob, status and time. Control calls are never journaled.
"""

from __future__ import annotations

import fnmatch
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import field
from datetime import datetime
from typing import Any

from mockflow.values import value_class
from mockflow.wire import iso, parse_datetime

DEFAULT_LIMIT = 10_000
REDACTED = "<redacted>"
SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization", "x-mockflow-token"})


@value_class(slots=True)
class Entry:
    """One request and its answer. Headers and body are kept as they came and redacted or decoded
    only when read: most entries are never read, and the journal is on every request's path."""

    id: int
    time: datetime
    method: str
    path: str
    query: list[tuple[str, str]]
    raw_headers: Mapping[str, str]
    raw_body: bytes
    status: int = 0
    operation_id: str | None = None
    duration_ms: float = 0.0
    user: str | None = None
    fault_id: str | None = None
    request_valid: bool = True
    request_problem: str | None = None
    response_valid: bool | None = None
    response_problem: str | None = None

    def answered_instead(self, status: int, problem: str) -> None:
        """The answer journaled was not the one sent (it failed to encode): record what was sent."""
        self.status, self.response_valid, self.response_problem = status, False, problem

    @property
    def headers(self) -> dict[str, str]:
        return redacted(self.raw_headers)

    @property
    def body(self) -> str | None:
        return _text(self.raw_body)

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id, "time": iso(self.time), "method": self.method, "path": self.path,
            "query": [list(pair) for pair in self.query], "headers": dict(self.headers), "body": self.body,
            "status": self.status, "operation_id": self.operation_id, "duration_ms": round(self.duration_ms, 3),
            "user": self.user, "fault_id": self.fault_id, "request_valid": self.request_valid,
            "request_problem": self.request_problem, "response_valid": self.response_valid,
            "response_problem": self.response_problem,
        }


@value_class(frozen=True, slots=True)
class Filter:
    operation_id: str | None = None
    method: str | None = None
    path: str | None = None  # a glob: `/api/v1/dags/*/dagRuns`
    status: int | None = None
    since: datetime | None = None
    until: datetime | None = None

    def admits(self, entry: Entry) -> bool:
        return ((self.operation_id is None or entry.operation_id == self.operation_id)
                and (self.method is None or entry.method == self.method.upper())
                and (self.path is None or fnmatch.fnmatchcase(entry.path, self.path))
                and (self.status is None or entry.status == self.status)
                and (self.since is None or entry.time >= self.since)
                and (self.until is None or entry.time <= self.until))

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> Filter:
        """From validated query values (times arrive as RFC 3339 text)."""
        names = ("operation_id", "method", "path", "status")
        chosen: dict[str, Any] = {name: values[name] for name in names if values.get(name) is not None}
        for bound in ("since", "until"):
            if values.get(bound) is not None:
                chosen[bound] = parse_datetime(values[bound])
        return cls(**chosen)


@value_class
class Journal:
    limit: int = DEFAULT_LIMIT
    entries: deque[Entry] = field(default_factory=deque)
    dropped: int = 0
    _last_id: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, **fields: Any) -> Entry:
        """Journals a request and its answer (the fields of `Entry` but its id)."""
        with self._lock:
            self._last_id += 1
            entry = Entry(id=self._last_id, **fields)
            if self.limit <= 0:
                self.dropped += 1
                return entry
            if len(self.entries) >= self.limit:
                self.entries.popleft()
                self.dropped += 1
            self.entries.append(entry)
            return entry

    def select(self, wanted: Filter) -> list[Entry]:
        with self._lock:
            return [entry for entry in self.entries if wanted.admits(entry)]

    def clear(self) -> None:
        with self._lock:
            self.entries.clear()
            self.dropped = 0


def redacted(headers: Mapping[str, str]) -> dict[str, str]:
    return {name.lower(): (REDACTED if name.lower() in SECRET_HEADERS else value) for name, value in headers.items()}


def _text(body: bytes) -> str | None:
    if not body:
        return None
    return body.decode("utf-8", errors="backslashreplace")
