"""Which task instances a list shows: the filters of the task-instance lists, the runs they
look at, and the page, read from the table's per-run and per-state indexes."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import islice
from typing import Any

from mockflow.store.records import DagRun, TaskInstance
from mockflow.store.state import State
from mockflow.wire import parse_datetime

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
    if len(checks) == 1:  # the usual case, without a generator per task instance
        return checks[0]
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
    low, high = _bound(filters.get("execution_date_gte")), _bound(filters.get("execution_date_lte"))
    if run_id is not None and dag_ids is not None:
        runs: Iterable[DagRun] = [run for dag_id in dag_ids if (run := state.dag_runs.get((dag_id, run_id)))]
    elif run_id is not None:
        runs = [run for run in state.dag_runs.values() if run.dag_run_id == run_id]
    elif dag_ids is None and low is None and high is None:
        return None
    else:
        runs = state.dag_runs.of_dags(dag_ids)
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
        indexes = [state.task_instances.of_run(run.dag_id, run.dag_run_id) for run in runs]
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
    buckets = [state.task_instances.in_state(value) for value in order]
    if others is None:
        total = sum(state.task_instances.count_in_state(value) for value in order)
        return total, list(islice((ti for bucket in buckets for ti in bucket), offset, end))
    matched = [ti for bucket in buckets for ti in bucket if others(ti)]
    return len(matched), matched[offset:end]
