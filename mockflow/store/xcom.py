"""XCom entries: selection (with `~`), lookup, and the wire shapes (values as Python `str()`)."""

from __future__ import annotations

from collections.abc import Iterable

from mockflow.problems import BadRequest, NotFound
from mockflow.store.records import XCom
from mockflow.store.state import JSON, State
from mockflow.wire import iso, python_repr


def select(state: State, dag_ids: Iterable[str] | None, run_id: str | None, task_id: str | None) -> list[XCom]:
    """Entries of the given DAGs (None: all) / run / task, in Airflow's fixed order: the run's
    logical date, task id, DAG id, key. Entries whose run is gone are not listed (inner join)."""
    wanted = None if dag_ids is None else set(dag_ids)
    rows = []
    for (dag_id, entry_run, entry_task, _, _), entry in state.xcoms.items():
        if wanted is not None and dag_id not in wanted:
            continue
        if (run_id is not None and entry_run != run_id) or (task_id is not None and entry_task != task_id):
            continue
        run = state.dag_runs.get((dag_id, entry_run))
        if run is not None:
            rows.append((run.logical_date, entry.task_id, entry.dag_id, entry.key, entry))
    rows.sort(key=lambda row: row[:4])
    return [row[-1] for row in rows]


def find(state: State, dag_id: str, run_id: str, task_id: str, key: str) -> XCom:
    found = [entry for (d, r, t, _, k), entry in state.xcoms.items()
             if d == dag_id and r == run_id and t == task_id and k == key]
    if not found:
        raise NotFound(None, title="XCom entry not found")
    if len(found) > 1:  # the real server crashes (MultipleResultsFound, 500 HTML); docs/differences.md
        raise BadRequest(f"XCom entry '{key}' exists for {len(found)} map indexes of task '{task_id}'; "
                         "Airflow 2.5.3 cannot choose one", title="XCom entry is mapped")
    return found[0]


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
