"""DAG runs: creation (ids, data intervals, task instances), selection, state changes, clearing
and deletion.

Runs are indexed per DAG by their table (creation order = Airflow's `id` order); every rule that starts
from a DAG id goes through it rather than through all runs.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from mockflow.store.dags import has_import_errors
from mockflow.store.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from mockflow.store.records import Dag, DagRun, DatasetEvent, TaskInstance
from mockflow.store.state import State
from mockflow.store.states import RUN_FAILED, RUN_SUCCESS
from mockflow.store.task_instances import check_params, create_task_instances
from mockflow.store.ti_changes import (
    clear_task_instances,
    mark_run_failed,
    mark_run_success,
    remove_run_task_instances,
    sorted_for_clear,
)
from mockflow.store.timetables import manual_data_interval
from mockflow.wire import parse_datetime

RUN_TYPES = ("backfill", "scheduled", "manual", "dataset_triggered")  # run id prefixes `<type>__`


# --- lookups ----------------------------------------------------------------------------------------

def find_run(state: State, dag_id: str, run_id: str) -> DagRun | None:
    return state.dag_runs.get((dag_id, run_id))


def require_run(state: State, dag_id: str, run_id: str) -> DagRun:
    run = find_run(state, dag_id, run_id)
    if run is None:
        raise NotFoundError("dag_run_not_found", dag_id=dag_id, dag_run_id=run_id)
    return run


# --- selection --------------------------------------------------------------------------------------

def _sort_key(value: Any) -> Any:
    return str(value) if isinstance(value, dict) else value


ORDER_COLUMNS: dict[str, Callable[[DagRun], Any]] = {
    "id": lambda run: run.id,
    "state": lambda run: run.state,
    "dag_id": lambda run: run.dag_id,
    "execution_date": lambda run: run.logical_date,
    "dag_run_id": lambda run: run.dag_run_id,
    "start_date": lambda run: run.start_date,
    "end_date": lambda run: run.end_date,
    "external_trigger": lambda run: run.external_trigger,
    "conf": lambda run: _sort_key(run.conf),
}
_DATE_FILTERS = (("execution_date", "logical_date"), ("start_date", "start_date"), ("end_date", "end_date"))


def date_ranges(values: Mapping[str, Any]) -> list[tuple[str, datetime | None, datetime | None]]:
    """(attribute, lower, upper) for the `<field>_gte` / `<field>_lte` filters that were given."""
    ranges = []
    for name, attribute in _DATE_FILTERS:
        low, high = parse_datetime(values.get(f"{name}_gte")), parse_datetime(values.get(f"{name}_lte"))
        if low is not None or high is not None:
            ranges.append((attribute, low, high))
    return ranges


def in_ranges(obj: Any, ranges: Sequence[tuple[str, Any, Any]]) -> bool:
    """SQL semantics: a NULL value never satisfies a bound."""
    for attribute, low, high in ranges:
        value = getattr(obj, attribute)
        if value is None or (low is not None and value < low) or (high is not None and value > high):
            return False
    return True


def runs_of(state: State, dag_ids: Iterable[str] | None) -> Iterator[DagRun]:
    """Runs of the given DAGs (None: all), in `id` order, read from the per-DAG index."""
    return state.dag_runs.of_dags(dag_ids)


def select_runs(state: State, dag_ids: Iterable[str] | None, filters: Mapping[str, Any],
                states: Sequence[str] | None) -> list[DagRun]:
    ranges = date_ranges(filters)
    rows: Iterable[DagRun]
    if dag_ids is None and ranges:
        # Every run, within a date range: the table keeps the runs in order of each date.
        attribute, low, high = ranges.pop(0)
        rows = state.dag_runs.dated(attribute, low, high)
    else:
        rows = runs_of(state, dag_ids)
    if states:  # one cheap pass per filter: these lists can hold every run of a big instance
        wanted = frozenset(states)
        rows = [run for run in rows if run.state in wanted]
    for attribute, low, high in ranges:
        rows = [run for run in rows if _within(getattr(run, attribute), low, high)]
    return rows if isinstance(rows, list) else list(rows)


def _within(value: datetime | None, low: datetime | None, high: datetime | None) -> bool:
    return value is not None and (low is None or value >= low) and (high is None or value <= high)


def page_runs(state: State, dag_ids: Iterable[str] | None, filters: Mapping[str, Any], states: Sequence[str] | None,
              order_by: str | None, offset: int, limit: int | None) -> tuple[int, list[DagRun]]:
    """(total, page): all runs in `id` order unfiltered is read straight off the table."""
    if dag_ids is None and not date_ranges(filters) and order_by in (None, "id"):
        end = None if limit is None else offset + limit
        if not states:
            return len(state.dag_runs), list(islice(state.dag_runs.values(), offset, end))
        # The table counts runs by state: read only as far as the page's last row.
        wanted = frozenset(states)
        total = sum(state.dag_runs.count_in_state(run_state) for run_state in wanted)
        matching = (run for run in state.dag_runs.values() if run.state in wanted)
        return total, list(islice(matching, offset, total if end is None else min(end, total)))
    rows = select_runs(state, dag_ids, filters, states)
    one_dag = dag_ids is not None and len(set(dag_ids)) == 1
    return len(rows), order_runs(rows, order_by, offset, limit, one_dag=one_dag)


# Columns whose descending order SQLite reads by walking an index backwards, which reverses ties
# too: `dag_id` (the dag_id IN list is walked from its end) and, for one DAG, `state` (the
# `dag_id_state` index). Other columns are sorted, stably, over that index's order.
_BACKWARD_ANY = frozenset({"dag_id"})
_BACKWARD_ONE_DAG = frozenset({"dag_id", "state"})


def order_runs(rows: list[DagRun], order_by: str | None, offset: int, limit: int | None, *,
               one_dag: bool = False) -> list[DagRun]:
    """One page of `rows` (already in `id` order) sorted like Airflow's `apply_sorting` on SQLite
    (all observed on a real 2.5.3): `ORDER BY id` is the key order; any other column sorts the
    rows as the `dag_id_state` index gives them (DAG id, state, id), so ties keep that order."""
    name = order_by if order_by is not None else "id"
    column = name.lstrip("-")
    key = ORDER_COLUMNS[column]  # the API has refused other columns
    end = None if limit is None else offset + limit
    descending = name.startswith("-")
    if column == "id":
        return (rows[::-1] if descending else rows)[offset:end]

    def sql_key(run: DagRun) -> tuple[bool, Any]:
        value = key(run)
        return (value is not None, value if value is not None else 0)

    base = sorted(rows, key=lambda run: (run.dag_id, run.state or ""))
    if descending and column in (_BACKWARD_ONE_DAG if one_dag else _BACKWARD_ANY):
        return sorted(base, key=sql_key)[::-1][offset:end]
    if end is not None and end < len(base) // 4:  # a small page of a big list: no full sort
        chosen = (heapq.nlargest if descending else heapq.nsmallest)(end, base, key=sql_key)
        return chosen[offset:]
    return sorted(base, key=sql_key, reverse=descending)[offset:end]


# --- creation ---------------------------------------------------------------------------------------

def reserved_prefix(run_id: str) -> str | None:
    """The run type whose `<type>__` prefix `run_id` uses, when it is not `manual`."""
    return next((run_type for run_type in RUN_TYPES if run_type != "manual" and run_id.startswith(f"{run_type}__")),
                None)


def require_triggerable(state: State, dag_id: str) -> Dag:
    """The checks POST /dags/{dag_id}/dagRuns makes before it loads the body."""
    dag = state.dags.get(dag_id)
    if dag is None or not dag.is_active:
        raise NotFoundError("dag_not_found", dag_id=dag_id)
    if has_import_errors(state, dag):
        raise InvalidInputError("dag_has_import_errors", dag_id=dag_id)
    return dag


def trigger_dag(state: State, dag: Dag, run_id: str | None, logical: datetime, conf: Mapping[str, Any] | None,
                note: str | None) -> DagRun:
    """A manual run of `dag` (already `require_triggerable`), checks in the real server's order."""
    run_id = run_id or f"manual__{logical.isoformat()}"
    _check_duplicates(state, dag.dag_id, run_id, logical)
    reserved = reserved_prefix(run_id)
    if reserved is not None:
        raise InvalidInputError("dag_run_id_reserved", dag_run_id=run_id, run_type=reserved)
    check_params(dag, conf or {})
    start, end = manual_data_interval(dag.schedule_interval, logical)
    run = DagRun(dag_id=dag.dag_id, dag_run_id=run_id, logical_date=_in_utc(logical),
                 conf=dict(conf or {}), note=note or None,
                 data_interval_start=start, data_interval_end=end, id=state.next_id("dag_runs"))
    state.dag_runs.insert(run)
    create_task_instances(state, dag, run)
    return run


def _in_utc(value: datetime) -> datetime:
    return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).astimezone(UTC)


def _check_duplicates(state: State, dag_id: str, run_id: str, logical: datetime) -> None:
    """The first run (by id) that has the same id or the same logical date decides the message."""
    for run in state.dag_runs.of_dag(dag_id):
        if run.logical_date == logical:
            raise AlreadyExistsError("dag_run_logical_date_exists", dag_id=dag_id, logical_date=logical)
        if run.dag_run_id == run_id:
            raise AlreadyExistsError("dag_run_exists", dag_id=dag_id, dag_run_id=run_id)


# --- changes ----------------------------------------------------------------------------------------

def update_state(state: State, run: DagRun, new_state: str, now: datetime) -> None:
    dag = state.dags.get(run.dag_id)
    state.dag_runs.set_state(run, new_state, now)
    # `_set_dag_run_state` stamps it for every state but running, queued too
    state.dag_runs.update(run, end_date=now)
    if new_state == RUN_SUCCESS:
        mark_run_success(state, run, dag, now)
    elif new_state == RUN_FAILED:
        mark_run_failed(state, run, dag, now)


def set_note(state: State, run: DagRun, note: str | None) -> None:
    state.dag_runs.update(run, note=note)


def clear_run(state: State, run: DagRun, *, dry_run: bool, now: datetime) -> list[TaskInstance]:
    """All the run's task instances, in the clear query's order. Unless a dry run, they are
    cleared and the run is queued again (start date and scheduling decision reset)."""
    chosen = sorted_for_clear(list(state.task_instances.of_run(run.dag_id, run.dag_run_id).values()))
    if not dry_run:
        clear_task_instances(state, chosen, reset_runs=True, now=now)
    return chosen


def delete_run(state: State, run: DagRun) -> None:
    """Removes the run and everything hanging off it: task instances, XComs, logs, event links."""
    key = (run.dag_id, run.dag_run_id)
    state.dag_runs.delete(run)
    remove_run_task_instances(state, key)
    for event in state.dataset_events.values():
        if key in event.created_dagruns:
            state.changes.set(event, created_dagruns=[other for other in event.created_dagruns if other != key])


def upstream_events(state: State, run: DagRun) -> list[DatasetEvent]:
    key = (run.dag_id, run.dag_run_id)
    return [event for event in state.dataset_events.values() if key in event.created_dagruns]
