"""The XCom objects: the list item, and the entry with its value as Python's `str()` of it."""

from __future__ import annotations

from mockflow.store.records import XCom
from mockflow.store.state import JSON, State
from mockflow.wire import iso, python_repr


def item_to_wire(state: State, entry: XCom) -> JSON:
    run = state.dag_runs.get((entry.dag_id, entry.dag_run_id))
    return {
        "key": entry.key,
        "timestamp": iso(entry.timestamp),
        "execution_date": iso(run.logical_date) if run is not None else None,
        "task_id": entry.task_id,
        "dag_id": entry.dag_id,
    }


def entry_to_wire(state: State, entry: XCom) -> JSON:
    return {**item_to_wire(state, entry), "value": None if entry.value is None else python_repr(entry.value)}
