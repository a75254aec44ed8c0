"""The read-only rows: import errors, DAG warnings and event logs."""

from __future__ import annotations

from mockflow.store.records import DagWarning, EventLog, ImportErrorRecord
from mockflow.store.state import JSON
from mockflow.wire import iso


def import_error_to_wire(row: ImportErrorRecord) -> JSON:
    return {
        "import_error_id": row.import_error_id,
        "timestamp": iso(row.timestamp),
        "filename": row.filename,
        "stack_trace": row.stack_trace,
    }


def dag_warning_to_wire(row: DagWarning) -> JSON:
    return {"dag_id": row.dag_id, "warning_type": row.warning_type, "message": row.message,
            "timestamp": iso(row.timestamp)}


def event_log_to_wire(row: EventLog) -> JSON:
    return {
        "event_log_id": row.event_log_id,
        "when": iso(row.when),
        "dag_id": row.dag_id,
        "task_id": row.task_id,
        "event": row.event,
        "execution_date": iso(row.execution_date),
        "owner": row.owner,
        "extra": row.extra,
    }
