"""Assertions over the request journal, with messages that show what was called instead.

    mock.assert_called("post_dag_run", times=1)
    mock.requests(operation_id="get_dag_run", status=200)[-1].json()
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from mockflow.values import value_class

JSON = dict[str, Any]
SHOWN = 20  # calls listed in a failure message before "... and N more"


@value_class(frozen=True, slots=True)
class Call:
    """One journaled request to the Airflow API and mockflow's answer (the control API's wire entry)."""

    method: str
    path: str
    status: int
    operation_id: str | None
    query: list[tuple[str, str]]
    body: str | None
    user: str | None
    fault_id: str | None
    request_valid: bool
    request_problem: str | None
    response_valid: bool | None
    response_problem: str | None

    @classmethod
    def of(cls, wire: Mapping[str, Any]) -> Call:
        return cls(method=wire["method"], path=wire["path"], status=wire["status"], operation_id=wire["operation_id"],
                   query=[(str(k), str(v)) for k, v in wire["query"]], body=wire["body"], user=wire["user"],
                   fault_id=wire["fault_id"], request_valid=wire["request_valid"],
                   request_problem=wire["request_problem"], response_valid=wire["response_valid"],
                   response_problem=wire["response_problem"])

    def json(self) -> Any:
        """The request body, parsed."""
        return None if self.body is None else json.loads(self.body)

    def __str__(self) -> str:
        query = "?" + "&".join(f"{k}={v}" for k, v in self.query) if self.query else ""
        named = f" ({self.operation_id})" if self.operation_id else ""
        return f"{self.method} {self.path}{query} -> {self.status}{named}"


class JournalAssertions:
    """Mixed into `MockAirflow`: `_journal(filters)` gives the matching calls, oldest first."""

    _journal: Callable[[Mapping[str, Any]], list[Call]]

    def requests(self, operation_id: str | None = None, *, method: str | None = None, path: str | None = None,
                 status: int | None = None) -> list[Call]:
        """The journaled calls matching every filter given (`path` is a glob), oldest first."""
        filters = {"operation_id": operation_id, "method": method, "path": path, "status": status}
        return self._journal({key: value for key, value in filters.items() if value is not None})

    def assert_called(self, operation_id: str, *, times: int | None = None, method: str | None = None,
                      path: str | None = None, status: int | None = None) -> list[Call]:
        """Fails unless `operation_id` was called (exactly `times` times, when given); returns the calls."""
        found = self.requests(operation_id, method=method, path=path, status=status)
        if (times is None and not found) or (times is not None and len(found) != times):
            wanted = "at least once" if times is None else _times(times)
            raise AssertionError(f"expected {operation_id}{_filters(method, path, status)} to be called {wanted}, "
                                 f"it was called {_times(len(found))}.\n{_listing(self.requests())}")
        return found

    def assert_called_once(self, operation_id: str, **filters: Any) -> Call:
        return self.assert_called(operation_id, times=1, **filters)[0]

    def assert_not_called(self, operation_id: str, **filters: Any) -> None:
        self.assert_called(operation_id, times=0, **filters)

    def invalid_calls(self) -> list[str]:
        """Readable problems: requests the spec rejects, answers mockflow could not validate."""
        problems = []
        for call in self.requests():
            if call.response_valid is False:
                problems.append(f"mockflow answered outside the spec: {call}: {call.response_problem}")
            if not call.request_valid:
                problems.append(f"the client sent a request the spec rejects: {call}: {call.request_problem}")
        return problems

    def journal_text(self) -> str:
        """Every journaled call, one a line (for a failed test's report)."""
        return "\n".join(str(call) for call in self.requests()) or "(no requests)"


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


def _filters(method: str | None, path: str | None, status: int | None) -> str:
    parts = [f"{name}={value}" for name, value in (("method", method), ("path", path), ("status", status))
             if value is not None]
    return f" ({', '.join(parts)})" if parts else ""


def _listing(calls: list[Call]) -> str:
    if not calls:
        return "No request reached mockflow."
    lines = [f"  {call}" for call in calls[:SHOWN]]
    if len(calls) > SHOWN:
        lines.append(f"  ... and {len(calls) - SHOWN} more")
    return "Calls made:\n" + "\n".join(lines)
