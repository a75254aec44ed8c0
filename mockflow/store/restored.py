"""Checks that a state is exactly another, order included, and that its tables' indexes are sound.

`State ==` compares dicts without their order; Airflow's lists are in table order, so an
undo-reset must also bring back every dict's key order. `Store(verify=True)` runs
`check_restored` after each undo-reset; the tests use `index_problems` as an invariant.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable
from typing import Any

from mockflow.store.records import TaskInstance
from mockflow.store.state import State
from mockflow.store.tables import RUN_DATES, TI_RANGES, RunTable, TaskInstanceTable, _Rows


class RestoreError(AssertionError):
    """An undo-reset left the state other than the seed: some write was not logged."""


def check_restored(live: State, fresh: State) -> None:
    problems = differences(live, fresh) + index_problems(live)
    if problems:
        raise RestoreError("reset did not restore the seed: " + "; ".join(problems[:10]))


def differences(live: State, fresh: State) -> list[str]:
    """Where `live` differs from `fresh`, value or order (the undo log itself is not compared)."""
    problems: list[str] = []
    for field in dataclasses.fields(State):
        if field.compare:
            _compare(getattr(live, field.name), getattr(fresh, field.name), field.name, problems)
    for name in ("dag_runs", "task_instances"):
        live_table, fresh_table = getattr(live, name), getattr(fresh, name)
        if (live_table._ids_ordered, live_table._last_id) != (fresh_table._ids_ordered, fresh_table._last_id):
            problems.append(f"{name}: id order flags differ")
    # Buckets come and go at the index's end: undone, they are back in their places too.
    if list(live.dag_runs.by_dag) != list(fresh.dag_runs.by_dag):
        problems.append("dag_runs: the per-DAG buckets are in another order")
    if list(live.task_instances.by_run) != list(fresh.task_instances.by_run):
        problems.append("task_instances: the per-run buckets are in another order")
    return problems


def index_problems(state: State) -> list[str]:
    """Where a table's indexes do not answer what a full scan of its rows does."""
    problems = _run_index_problems(state.dag_runs) + ti_index_problems(state.task_instances)
    return problems


def _run_index_problems(table: RunTable) -> list[str]:
    expected: dict[str, list[Any]] = {}
    for run in table.values():
        expected.setdefault(run.dag_id, []).append(run)
    found = {dag_id: list(bucket.values()) for dag_id, bucket in table.by_dag.items()}
    problems = [] if _same_objects(found, expected) else ["dag_runs: the per-DAG index differs from a scan"]
    if table.state_counts != Counter(run.state for run in table.values()):
        problems.append("dag_runs: the counts by state differ from a scan")
    for name in RUN_DATES:
        if not _in_value_order(list(table.date_order(name)), table.values(), name):
            problems.append(f"dag_runs: the {name} order differs from a scan")
    return problems


def ti_index_problems(table: TaskInstanceTable) -> list[str]:
    by_run: dict[Any, list[Any]] = {}
    by_state: dict[Any, list[Any]] = {}
    by_pool: dict[Any, list[Any]] = {}
    by_queue: dict[Any, list[Any]] = {}
    for ti in table.values():
        by_run.setdefault((ti.dag_id, ti.dag_run_id), []).append(ti)
        by_state.setdefault(ti.state, []).append(ti)
        by_pool.setdefault((ti.pool, ti.state, ti.priority_weight), []).append(ti)
        by_queue.setdefault(ti.queue, []).append(ti)
    problems = []
    if not _same_objects({key: list(bucket.values()) for key, bucket in table.by_run.items()}, by_run):
        problems.append("task_instances: the per-run index differs from a scan")
    indexed: list[tuple[str, dict[Any, list[Any]], dict[Any, list[Any]]]] = [
        ("state", {group: list(table.in_state(group)) for group in table.states()}, by_state),
        ("pool", {group: list(table.in_pool_group(group)) for group in table.pool_groups()}, by_pool),
        ("queue", {group: list(table.in_queue(group)) for group in table.queues()}, by_queue)]
    for name, found, scanned in indexed:
        if not _same_objects(found, scanned):
            problems.append(f"task_instances: the {name} index differs from a scan")
    for name in TI_RANGES:
        if not _in_value_order(list(table.range_order(name)), table.values(), name):
            problems.append(f"task_instances: the {name} order differs from a scan")
    if table.slots_by_pool != pool_slots_by_scan(table.values()):
        problems.append("task_instances: the per-pool slot sums differ from a scan")
    return problems


def _in_value_order(ordered: list[Any], rows: Iterable[Any], name: str) -> bool:
    """Whether `ordered` holds the very rows with a `name` in (value, id) order (ties on both in any order)."""
    valued = [row for row in rows if getattr(row, name) is not None]
    return [(getattr(row, name), row.id) for row in ordered] == sorted(
        (getattr(row, name), row.id) for row in valued) and {id(row) for row in ordered} == {id(row) for row in valued}


def pool_slots_by_scan(rows: Iterable[TaskInstance]) -> dict[str, dict[str | None, int]]:
    """pool -> state -> summed pool_slots, as the table keeps them (no zero entries)."""
    sums: dict[str, dict[str | None, int]] = {}
    for ti in rows:
        by_state = sums.setdefault(ti.pool, {})
        by_state[ti.state] = by_state.get(ti.state, 0) + ti.pool_slots
    return {pool: {ti_state: total for ti_state, total in by_state.items() if total}
            for pool, by_state in sums.items() if any(by_state.values())}


def _same_objects(found: dict[Any, list[Any]], expected: dict[Any, list[Any]]) -> bool:
    # The same buckets (in any order), each holding the very row objects in table order.
    return found.keys() == expected.keys() and all(
        [id(row) for row in found[key]] == [id(row) for row in rows] for key, rows in expected.items())


def _compare(live: Any, fresh: Any, where: str, problems: list[str]) -> None:
    if type(live) is not type(fresh):
        problems.append(f"{where}: {type(live).__name__} is not {type(fresh).__name__}")
    elif isinstance(live, (dict, _Rows)):
        if list(live.keys()) != list(fresh.keys()):
            problems.append(f"{where}: keys or their order differ")
        else:
            for key in fresh:
                _compare(live[key], fresh[key], f"{where}[{key!r}]", problems)
    elif isinstance(live, (list, tuple)) and len(live) == len(fresh):
        for index, (mine, theirs) in enumerate(zip(live, fresh, strict=True)):
            _compare(mine, theirs, f"{where}[{index}]", problems)
    elif dataclasses.is_dataclass(live) and not isinstance(live, type):
        for field in dataclasses.fields(live):
            _compare(getattr(live, field.name), getattr(fresh, field.name), f"{where}.{field.name}", problems)
    elif live != fresh:
        problems.append(f"{where}: {live!r} != {fresh!r}")
