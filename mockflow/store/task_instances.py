"""Task instances: creation with a run, selection, state changes (mark, clear) and notes.

A run's task instances live in `tis_by_run[(dag_id, run_id)]` in creation order (Airflow's storage
order, which its unordered lists show); every rule starting from a run goes through that index.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from itertools import islice
from typing import Any

import jsonschema_rs

from mockflow.store import dag_sources, ti_index
from mockflow.store.dag_files import add_task_instance
from mockflow.store.errors import InvalidInputError, NotFoundError
from mockflow.store.records import Dag, DagRun, Task, TaskInstance
from mockflow.store.state import RunKey, State
from mockflow.wire import parse_datetime

FINISHED = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})
RUNNING = frozenset({"running", "deferred", "up_for_reschedule"})
FAILED = frozenset({"failed", "upstream_failed"})


# --- creation ---------------------------------------------------------------------------------------

def create_task_instances(state: State, dag: Dag, run: DagRun) -> None:
    """What `verify_integrity` creates with a run: one TI per task that has started by the logical
    date (mapped tasks: one per expansion when the length is known), in declaration order."""
    weights = priority_weights(dag)
    lengths = dag_sources.map_lengths(dag.source) if dag.source else {}
    for task in dag_sources.declaration_order(dag):
        start, end = task.start_date or dag.start_date, task.end_date or dag.end_date
        if (start is not None and start > run.logical_date) or (end is not None and end < run.logical_date):
            continue
        for map_index in _map_indexes(task, lengths):
            add_task_instance(state, TaskInstance(
                dag_id=dag.dag_id, dag_run_id=run.dag_run_id, task_id=task.task_id, map_index=map_index,
                max_tries=task.retries, pool=task.pool, pool_slots=task.pool_slots, queue=task.queue,
                priority_weight=weights[task.task_id], operator=task.operator_class,
                id=state.next_id("task_instances")))


def _map_indexes(task: Task, lengths: Mapping[str, int]) -> range:
    if not task.is_mapped:
        return range(-1, 0)
    length = task.map_length if task.map_length is not None else lengths.get(task.task_id)
    return range(-1, 0) if length is None else range(length)  # unknown length: one placeholder TI


def priority_weights(dag: Dag) -> dict[str, int]:
    """`priority_weight_total`: own weight plus the relatives' the weight rule names."""
    upstream: dict[str, list[str]] = {task_id: [] for task_id in dag.tasks}
    for task in dag.tasks.values():
        for child in task.downstream_task_ids:
            upstream.setdefault(child, []).append(task.task_id)
    weights = {}
    for task in dag.tasks.values():
        if task.weight_rule == "absolute":
            weights[task.task_id] = task.priority_weight
            continue
        graph = upstream if task.weight_rule == "upstream" else {t.task_id: t.downstream_task_ids
                                                                 for t in dag.tasks.values()}
        relatives = _reachable(graph, task.task_id)
        weights[task.task_id] = task.priority_weight + sum(dag.tasks[t].priority_weight for t in relatives
                                                           if t in dag.tasks)
    return weights


def _reachable(graph: Mapping[str, Sequence[str]], start: str) -> set[str]:
    seen: set[str] = set()
    stack = list(graph.get(start, ()))
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(graph.get(current, ()))
    return seen


def relatives(dag: Dag, task_id: str, *, upstream: bool, downstream: bool) -> set[str]:
    graph_down = {t.task_id: t.downstream_task_ids for t in dag.tasks.values()}
    found = {task_id}
    if downstream:
        found |= _reachable(graph_down, task_id)
    if upstream:
        graph_up: dict[str, list[str]] = {}
        for parent, children in graph_down.items():
            for child in children:
                graph_up.setdefault(child, []).append(parent)
        found |= _reachable(graph_up, task_id)
    return found


def check_params(dag: Dag, conf: Mapping[str, Any]) -> None:
    """The DAG's `params` check on `conf` (the real server crashes with a 500 when it fails)."""
    params = dag.wire.get("params") or {}
    for name, param in params.items():
        if not isinstance(param, dict) or name not in conf:
            continue
        schema = param.get("schema") or {}
        if schema and not jsonschema_rs.is_valid(schema, conf[name]):
            raise InvalidInputError("dag_params_invalid", dag_id=dag.dag_id, param=name, value=conf[name])


# --- selection --------------------------------------------------------------------------------------

Predicate = Callable[[TaskInstance], bool]
_TI_RANGES = (("start_date", "start_date"), ("end_date", "end_date"), ("duration", "duration"))


def states_of(values: Sequence[str] | None) -> list[str | None] | None:
    """`none` means SQL NULL; an empty list filters nothing."""
    if not values:
        return None
    return [None if value == "none" else value for value in values]


def ti_predicate(filters: Mapping[str, Any]) -> Predicate | None:
    """One test for the task-instance-level filters given (None: there are none)."""
    checks: list[Predicate] = []
    for name, attribute in _TI_RANGES:
        low, high = _bound(filters.get(f"{name}_gte")), _bound(filters.get(f"{name}_lte"))
        if low is not None or high is not None:
            checks.append(_range_check(attribute, low, high))
    for name in ("state", "pool", "queue"):
        values = states_of(filters.get(name)) if name == "state" else filters.get(name)
        if values is not None:
            checks.append(_member_check(name, frozenset(values)))
    if not checks:
        return None
    return lambda ti: all(check(ti) for check in checks)


def _member_check(attribute: str, allowed: frozenset[Any]) -> Predicate:
    return lambda ti: getattr(ti, attribute) in allowed


def _bound(value: Any) -> Any:
    return parse_datetime(value) if isinstance(value, str) else value


def _range_check(attribute: str, low: Any, high: Any) -> Predicate:
    def check(ti: TaskInstance) -> bool:
        value = getattr(ti, attribute)
        return value is not None and (low is None or value >= low) and (high is None or value <= high)
    return check


def candidate_runs(state: State, dag_ids: Iterable[str] | None, run_id: str | None,
                   filters: Mapping[str, Any]) -> list[DagRun] | None:
    """The runs whose task instances a list looks at, in `id` order (`None` = `~`). None means
    every run, unfiltered: the caller then reads the task-instance table directly."""
    from mockflow.store.dag_runs import runs_of

    low, high = _bound(filters.get("execution_date_gte")), _bound(filters.get("execution_date_lte"))
    if run_id is not None and dag_ids is not None:
        runs: Iterable[DagRun] = [run for dag_id in dag_ids if (run := state.dag_runs.get((dag_id, run_id)))]
    elif run_id is not None:
        runs = [run for run in state.dag_runs.values() if run.dag_run_id == run_id]
    elif dag_ids is None and low is None and high is None:
        return None
    else:
        runs = runs_of(state, dag_ids)
    if low is None and high is None:
        return list(runs)
    if low is not None:
        runs = [run for run in runs if run.logical_date >= low]
    if high is not None:
        runs = [run for run in runs if run.logical_date <= high]
    return list(runs)


def select(state: State, runs: Sequence[DagRun] | None, filters: Mapping[str, Any], offset: int,
           limit: int | None) -> tuple[int, list[TaskInstance]]:
    """(total, page) of the runs' task instances (None: all) matching `filters`, in storage order.
    With a state filter SQLite walks its state index, so rows come grouped by state (NULL first)."""
    predicate = ti_predicate(filters)
    end = None if limit is None else offset + limit
    rows: Iterable[TaskInstance]
    wanted_states = states_of(filters.get("state"))
    if runs is None and wanted_states is not None:
        return _select_by_state(state, wanted_states, filters, offset, end)
    if runs is None:
        rows = state.task_instances.values()
        total = len(state.task_instances)
    else:
        indexes = [state.tis_by_run.get((run.dag_id, run.dag_run_id), {}) for run in runs]
        rows = (ti for index in indexes for ti in index.values())
        total = sum(len(index) for index in indexes)
    if predicate is None:
        return total, list(islice(rows, offset, end))
    matched = [ti for ti in rows if predicate(ti)]
    if len(set(states_of(filters.get("state")) or ())) > 1:
        matched.sort(key=lambda ti: (ti.state is not None, ti.state or ""))
    return len(matched), matched[offset:end]


def _select_by_state(state: State, wanted: Sequence[str | None], filters: Mapping[str, Any], offset: int,
                     end: int | None) -> tuple[int, list[TaskInstance]]:
    """Every DAG and run, filtered by state: read only those states' index buckets. Several
    states come grouped by state, NULL first (SQLite walks its state index)."""
    order = sorted(set(wanted), key=lambda value: (value is not None, value or ""))
    others = ti_predicate({name: value for name, value in filters.items() if name != "state"})
    buckets = [ti_index.in_state(state, value) for value in order]
    if others is None:
        total = sum(len(state.tis_by_state.get(value) or ()) for value in order)
        return total, list(islice((ti for bucket in buckets for ti in bucket), offset, end))
    matched = [ti for bucket in buckets for ti in bucket if others(ti)]
    return len(matched), matched[offset:end]


def mapped_rows(state: State, dag_id: str, run_id: str, task_id: str) -> list[TaskInstance]:
    """listMapped's rows; when there are none, the real server's 404 variants."""
    index = state.tis_by_run.get((dag_id, run_id), {})
    rows = [ti for (tid, map_index), ti in index.items() if tid == task_id and map_index >= 0]
    if rows:
        return rows
    dag = state.dags.get(dag_id)
    if dag is None:
        raise NotFoundError("dag_not_found", dag_id=dag_id)
    task = dag.tasks.get(task_id)
    if task is None:  # the real server crashes (TaskNotFound, 500 HTML); docs/differences.md
        raise NotFoundError("task_not_found", dag_id=dag_id, task_id=task_id)
    if not task.is_mapped:
        raise NotFoundError("task_not_mapped", dag_id=dag_id, task_id=task_id)
    return rows


MAPPED_ORDERS = (None, "", "state", "-state", "-map_index")


def order_mapped(rows: list[TaskInstance], order_by: str | None) -> list[TaskInstance]:
    """listMapped's order; `order_by` is one of `MAPPED_ORDERS` (the API refuses the others)."""
    if not order_by:
        return sorted(rows, key=lambda ti: ti.map_index)
    if order_by == "state":
        return sorted(rows, key=lambda ti: (ti.state is not None, ti.state or "", ti.map_index))
    if order_by == "-state":
        by_index = sorted(rows, key=lambda ti: ti.map_index)
        return sorted(by_index, key=lambda ti: (ti.state is not None, ti.state or ""), reverse=True)
    return sorted(rows, key=lambda ti: ti.map_index, reverse=True)


def get_one(state: State, dag_id: str, run_id: str, task_id: str, map_index: int | None) -> TaskInstance:
    """get_task_instance (map_index None) and get_mapped_task_instance."""
    index = state.tis_by_run.get((dag_id, run_id), {})
    if map_index is not None:
        ti = index.get((task_id, map_index))
        if ti is None:
            raise _ti_not_found(dag_id, run_id, task_id, map_index)
        return ti
    found = [ti for (tid, _), ti in index.items() if tid == task_id]
    if not found:
        raise _ti_not_found(dag_id, run_id, task_id, -1)
    if len(found) > 1 or found[0].map_index != -1:
        raise NotFoundError("task_instance_mapped", dag_id=dag_id, dag_run_id=run_id, task_id=task_id)
    return found[0]


def _ti_not_found(dag_id: str, run_id: str, task_id: str, map_index: int) -> NotFoundError:
    return NotFoundError("task_instance_not_found", dag_id=dag_id, dag_run_id=run_id, task_id=task_id,
                         map_index=map_index)


def require_ti(state: State, dag_id: str, run_id: str, task_id: str, map_index: int) -> TaskInstance:
    """The task instance with exactly this key."""
    ti = state.tis_by_run.get((dag_id, run_id), {}).get((task_id, map_index))
    if ti is None:
        raise _ti_not_found(dag_id, run_id, task_id, map_index)
    return ti


def sorted_for_clear(rows: Iterable[TaskInstance]) -> list[TaskInstance]:
    """The order the clear and set-state queries return (the primary key's)."""
    return sorted(rows, key=lambda ti: (ti.task_id, ti.dag_run_id, ti.map_index))


# --- state changes ----------------------------------------------------------------------------------

def set_ti_state(state: State, ti: TaskInstance, new_state: str, now: datetime) -> None:
    """`TaskInstance.set_state`: dates stamped when unset, duration from them once finished."""
    ti_index.set_state(state, ti, new_state)
    ti.start_date = ti.start_date or now
    if new_state in FINISHED or new_state == "up_for_retry":
        ti.end_date = ti.end_date or now
        ti.duration = (ti.end_date - ti.start_date).total_seconds()


def mark(state: State, ti: TaskInstance, new_state: str, now: datetime) -> None:
    """mark_tasks' `set_state`: a deferred or rescheduled try is counted back first."""
    if ti.state in ("deferred", "up_for_reschedule"):
        ti.try_number += 1
    set_ti_state(state, ti, new_state, now)


def run_tis(state: State, run: DagRun) -> Iterable[TaskInstance]:
    return state.tis_by_run.get((run.dag_id, run.dag_run_id), {}).values()


def mark_run_success(state: State, run: DagRun, dag: Dag | None, now: datetime) -> None:
    for ti in run_tis(state, run):
        if ti.state != "success" and (dag is None or ti.task_id in dag.tasks):
            mark(state, ti, "success", now)


def mark_run_failed(state: State, run: DagRun, dag: Dag | None, now: datetime) -> None:
    """Running tries fail; other unfinished ones are skipped; never-started (NULL) ones stay."""
    for ti in list(run_tis(state, run)):
        if ti.state in RUNNING and (dag is None or ti.task_id in dag.tasks):
            mark(state, ti, "failed", now)
        elif ti.state is not None and ti.state not in FINISHED and ti.state not in RUNNING:
            set_ti_state(state, ti, "skipped", now)


def clear_task_instances(state: State, rows: Iterable[TaskInstance], *, reset_runs: bool, now: datetime) -> None:
    """`clear_task_instances`: running tries restart, the rest lose their state and get their
    task's settings and a new retry budget; their runs are queued again when asked."""
    from mockflow.store.dag_runs import reset_run

    touched: dict[RunKey, None] = {}
    weights: dict[str, dict[str, int]] = {}
    for ti in rows:
        touched[(ti.dag_id, ti.dag_run_id)] = None
        if ti.state == "running":
            ti_index.set_state(state, ti, "restarting")
            continue
        dag = state.dags.get(ti.dag_id)
        task = dag.tasks.get(ti.task_id) if dag is not None else None
        if dag is not None and task is not None:
            dag_weights = weights.setdefault(dag.dag_id, priority_weights(dag))
            ti.pool, ti.pool_slots, ti.queue = task.pool, task.pool_slots, task.queue
            ti.priority_weight, ti.operator = dag_weights[task.task_id], task.operator_class
            ti.max_tries = ti.try_number + task.retries
        else:
            ti.max_tries = max(ti.max_tries, ti.try_number)
        ti_index.set_state(state, ti, None)
    if reset_runs:
        for key in touched:
            run = state.dag_runs.get(key)
            if run is not None:
                reset_run(run, now)


def remove_run_task_instances(state: State, run_key: RunKey) -> None:
    """Drops a run's task instances with their XComs and logs (the cascade of a run delete)."""
    dag_id, run_id = run_key
    for (task_id, map_index), ti in state.tis_by_run.pop(run_key, {}).items():
        state.task_instances.pop((dag_id, run_id, task_id, map_index), None)
        ti_index.discard(state, ti)
    for xcom_key in [key for key in state.xcoms if key[0] == dag_id and key[1] == run_id]:
        del state.xcoms[xcom_key]
    for log_key in [key for key in state.logs if key[0] == dag_id and key[1] == run_id]:
        del state.logs[log_key]


def set_note(state: State, dag_id: str, run_id: str, task_id: str, map_index: int,
             note: str | None) -> TaskInstance:
    ti = require_ti(state, dag_id, run_id, task_id, map_index)
    ti.note = note
    return ti
