"""The event-log rows that audited API calls write, with Airflow's `extra` text (behaviour reference 0.12).

Which operations are audited, under which event name, is the bundle's `audited_events`."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from mockflow.store.records import EventLog
from mockflow.store.secrets import is_sensitive
from mockflow.store.state import State
from mockflow.wire import parse_datetime


def write_audit_row(
    state: State,
    event: str,
    *,
    owner: str,
    query: Sequence[tuple[str, str]],
    path: dict[str, Any],
    now: datetime,
) -> None:
    pairs = [*query, *((name, str(value)) for name, value in path.items())]
    masked = _mask(pairs, state)
    execution_date = next((value for name, value in query if name == "execution_date"), None)
    row_id = state.next_id("event_logs")
    state.changes.put(state.event_logs, row_id, EventLog(
        event_log_id=row_id,
        when=now,
        event=event,
        dag_id=path.get("dag_id"),
        owner=owner,
        extra=repr(masked),
        execution_date=_safe_datetime(execution_date),
    ))


def _mask(pairs: list[tuple[str, str]], state: State) -> list[tuple[str, str]]:
    """Airflow's secrets masker: a value under a sensitive name becomes ***, and any secret the
    server has seen (connection passwords, sensitive extra values, values of variables with
    sensitive keys) is replaced by *** wherever it appears in a value."""
    secrets = _known_secrets(state)
    pattern = re.compile("|".join(re.escape(secret) for secret in secrets)) if secrets else None
    masked = []
    for name, value in pairs:
        if is_sensitive(name):
            value = "***"
        elif pattern is not None:
            value = pattern.sub("***", value)
        masked.append((name, value))
    return masked


def _known_secrets(state: State) -> list[str]:
    secrets: set[str] = set()
    for conn in state.connections.values():
        if conn.password:
            secrets.add(conn.password)
        secrets.update(_sensitive_strings(conn.extra))
    for variable in state.variables.values():
        if variable.value and is_sensitive(variable.key):
            secrets.add(variable.value)
    return sorted(secrets, key=len, reverse=True)  # longest first, so a secret is masked whole


def _sensitive_strings(extra: str | None) -> set[str]:
    """String values under sensitive keys of a JSON extra (what `extra_dejson` registers)."""
    try:
        parsed = json.loads(extra) if extra else None
    except ValueError:
        return set()
    found: set[str] = set()

    def walk(item: Any, hidden: bool) -> None:
        if isinstance(item, dict):
            for key, value in item.items():
                walk(value, is_sensitive(str(key)))  # a dict's own keys decide, as in add_mask
        elif isinstance(item, list):
            for value in item:
                walk(value, hidden)
        elif hidden and isinstance(item, str) and item:
            found.add(item)

    walk(parsed, False)
    return found


def _safe_datetime(value: str | None) -> datetime | None:
    try:
        return parse_datetime(value)
    except ValueError:
        return None
