"""get_event_logs and get_event_log: the audit log that some API calls write (see audit.py)."""

from __future__ import annotations

from mockflow.api.context import Call
from mockflow.api.shapes.meta import event_log_to_wire
from mockflow.pagination import by_attributes, ordered, page
from mockflow.problems import NotFound
from mockflow.store.state import JSON

INDEXED = frozenset({"dag_id", "event"})  # idx_log_dag, idx_log_event: descending ties come reversed
ORDER_COLUMNS = by_attributes("event_log_id", "when", "dag_id", "task_id", "event", "execution_date", "owner", "extra")


def get_event_logs(call: Call) -> JSON:
    rows = ordered(list(call.state.event_logs.values()), call.query.get("order_by"), ORDER_COLUMNS, "event_log_id",
                   backward=INDEXED)
    return {"event_logs": [event_log_to_wire(r) for r in page(rows, call.query)], "total_entries": len(rows)}


def get_event_log(call: Call) -> JSON:
    row = call.state.event_logs.get(call.path["event_log_id"])
    if row is None:
        raise NotFound(None, title="Event Log not found")
    return event_log_to_wire(row)
