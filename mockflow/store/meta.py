"""Read-only resources: version, config, plugins, providers, import errors, DAG warnings, event logs."""

from __future__ import annotations

from typing import Any

from mockflow.store.records import DagWarning, EventLog, ImportErrorRecord
from mockflow.store.state import JSON, State
from mockflow.wire import parse_datetime

DEFAULT_VERSION: JSON = {
    "version": "2.5.3",
    "git_version": ".release:2.5.3+cb842dd8aa8749b4d0a474c6e2fda11505d9ba99",
}


def load_version(state: State, data: Any, source: str) -> None:
    state.version = {**DEFAULT_VERSION, **data}


def load_config(state: State, data: Any, source: str) -> None:
    state.config = data


def load_plugins(state: State, data: Any, source: str) -> None:
    _replace_by(state.plugins, data, "name")


def load_providers(state: State, data: Any, source: str) -> None:
    _replace_by(state.providers, data, "package_name")


def _replace_by(rows: list[JSON], new: list[JSON], key: str) -> None:
    for item in new:
        existing = next((i for i, row in enumerate(rows) if row.get(key) == item.get(key)), None)
        if existing is None:
            rows.append(dict(item))
        else:
            rows[existing] = dict(item)


def load_import_errors(state: State, data: Any, source: str) -> None:
    for item in data:
        row_id = int(item.get("import_error_id") or state.next_id("import_errors"))
        state.note_id("import_errors", row_id)
        state.import_errors[row_id] = ImportErrorRecord(
            import_error_id=row_id,
            filename=item["filename"],
            stack_trace=item.get("stack_trace", ""),
            timestamp=parse_datetime(item.get("timestamp")) or parse_datetime("1970-01-01T00:00:00+00:00"),  # type: ignore[arg-type]
        )


def load_dag_warnings(state: State, data: Any, source: str) -> None:
    for item in data:
        state.dag_warnings = [
            w for w in state.dag_warnings if (w.dag_id, w.warning_type) != (item["dag_id"], item["warning_type"])
        ]
        state.dag_warnings.append(
            DagWarning(
                dag_id=item["dag_id"],
                warning_type=item["warning_type"],
                message=item.get("message", ""),
                timestamp=parse_datetime(item["timestamp"]),  # type: ignore[arg-type]
            )
        )


def load_event_logs(state: State, data: Any, source: str) -> None:
    for item in data:
        row_id = int(item.get("event_log_id") or state.next_id("event_logs"))
        state.note_id("event_logs", row_id)
        state.event_logs[row_id] = EventLog(
            event_log_id=row_id,
            when=parse_datetime(item["when"]),  # type: ignore[arg-type]
            event=item["event"],
            dag_id=item.get("dag_id"),
            task_id=item.get("task_id"),
            execution_date=parse_datetime(item.get("execution_date")),
            owner=item.get("owner"),
            extra=item.get("extra"),
        )
