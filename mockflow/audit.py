"""The event-log rows that some API calls write, with Airflow's `extra` text (behaviour reference 0.12)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from mockflow.store.records import EventLog
from mockflow.store.state import State
from mockflow.wire import parse_datetime

AUDITED_EVENTS = {
    "post_connection": "connection.create",
    "patch_connection": "connection.edit",
    "delete_connection": "connection.delete",
    "post_variables": "variable.create",
    "patch_variable": "variable.edit",
    "delete_variable": "variable.delete",
    "post_dag_run": "dag_run.create",
}

# Names Airflow's secrets masker treats as sensitive (it then masks their values as ***).
_SENSITIVE = re.compile(
    r"access_token|api_key|apikey|authorization|passphrase|passwd|password|private_key|secret|token|"
    r"keyfile_dict|service_account",
    re.IGNORECASE,
)


def is_sensitive(name: str) -> bool:
    return bool(_SENSITIVE.search(name))


def write_audit_row(
    state: State,
    operation_id: str,
    *,
    owner: str,
    query: Sequence[tuple[str, str]],
    path: dict[str, Any],
    now: datetime,
) -> None:
    event = AUDITED_EVENTS.get(operation_id)
    if event is None:
        return
    pairs = [*query, *((name, str(value)) for name, value in path.items())]
    masked = _mask(pairs, path)
    execution_date = next((value for name, value in query if name == "execution_date"), None)
    row_id = state.next_id("event_logs")
    state.event_logs[row_id] = EventLog(
        event_log_id=row_id,
        when=now,
        event=event,
        dag_id=path.get("dag_id"),
        owner=owner,
        extra=repr(masked),
        execution_date=_safe_datetime(execution_date),
    )


def _mask(pairs: list[tuple[str, str]], path: dict[str, Any]) -> list[tuple[str, str]]:
    # A variable whose key looks secret has its key masked in the row, like Airflow's masker does.
    secret_key = is_sensitive(str(path.get("variable_key", "")))
    masked = []
    for name, value in pairs:
        if is_sensitive(name) or (secret_key and name == "variable_key"):
            value = "***"
        masked.append((name, value))
    return masked


def _safe_datetime(value: str | None) -> datetime | None:
    try:
        return parse_datetime(value)
    except ValueError:
        return None
