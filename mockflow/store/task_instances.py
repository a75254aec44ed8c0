"""Task instances: creation with a run, the lookups of one or of a mapped task's, and notes.
Selection lives in `store/ti_selection.py`, state changes in `store/ti_changes.py`.

A run's task instances are indexed by the table (`of_run`) in creation order (Airflow's storage
order, which its unordered lists show); every rule starting from a run goes through that index.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import jsonschema_rs

from mockflow.store import dag_sources
from mockflow.store.errors import InvalidInputError, NotFoundError
from mockflow.store.records import Dag, DagRun, Task, TaskInstance
from mockflow.store.state import State

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
            state.task_instances.insert(TaskInstance(
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


# --- lookups ---------------------------------------------------------------------------------------

def mapped_rows(state: State, dag_id: str, run_id: str, task_id: str) -> list[TaskInstance]:
    """listMapped's rows; when there are none, the real server's 404 variants."""
    index = state.task_instances.of_run(dag_id, run_id)
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
    index = state.task_instances.of_run(dag_id, run_id)
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
    ti = state.task_instances.of_run(dag_id, run_id).get((task_id, map_index))
    if ti is None:
        raise _ti_not_found(dag_id, run_id, task_id, map_index)
    return ti


def set_note(state: State, dag_id: str, run_id: str, task_id: str, map_index: int,
             note: str | None) -> TaskInstance:
    ti = require_ti(state, dag_id, run_id, task_id, map_index)
    state.task_instances.update(ti, note=note)
    return ti
