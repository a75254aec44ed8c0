"""XCom entries: selection (with `~`) and lookup."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from mockflow.store.errors import InvalidInputError, NotFoundError
from mockflow.store.records import XCom
from mockflow.store.state import State


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
        raise NotFoundError("xcom_not_found", dag_id=dag_id, run_id=run_id, task_id=task_id, key=key)
    if len(found) > 1:  # the real server crashes (MultipleResultsFound, 500 HTML); docs/differences.md
        raise InvalidInputError("xcom_mapped", dag_id=dag_id, run_id=run_id, task_id=task_id, key=key,
                                map_indexes=len(found))
    return found[0]


def push(state: State, dag_id: str, run_id: str, task_id: str, map_index: int, key: str, value: object,
         when: datetime) -> XCom:
    """`XCom.set`: one entry per (task instance, key); a new push replaces the old one."""
    entry = XCom(dag_id=dag_id, dag_run_id=run_id, task_id=task_id, key=key, value=value, timestamp=when,
                 map_index=map_index)
    state.changes.pop(state.xcoms, (dag_id, run_id, task_id, map_index, key), None)  # a replaced entry goes last
    state.changes.put(state.xcoms, (dag_id, run_id, task_id, map_index, key), entry)
    return entry


def clear_for_try(state: State, dag_id: str, run_id: str, task_id: str, map_index: int) -> None:
    """A new try starts with no XComs of its own (`TaskInstance.clear_xcom_data`)."""
    for key in [k for k in state.xcoms if k[:4] == (dag_id, run_id, task_id, map_index)]:
        state.changes.pop(state.xcoms, key)
