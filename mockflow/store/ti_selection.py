"""Which task instances a list shows: the filters of the task-instance lists, the runs they
look at, and the page, read from the table's per-run and per-state indexes."""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import chain, islice
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
    elif dag_ids is None:  # every run within the range, read off the table's logical-date order
        return state.dag_runs.dated("logical_date", low, high)
    else:
        runs = state.dag_runs.of_dags(dag_ids)
    if low is None and high is None:
        return list(runs)
    if low is not None:
        runs = [run for run in runs if run.logical_date >= low]
    if high is not None:
        runs = [run for run in runs if run.logical_date <= high]
    return list(runs)


OrderKey = Callable[[TaskInstance], tuple[Any, ...]]


def scan_order(dag_ids_given: bool, run_given: bool, filters: Mapping[str, Any]) -> OrderKey | None:
    """The order the real server's SQLite query plan gives a task-instance list, as a sort key
    over rows in table (rowid) order; None means table order. The list has no ORDER BY, so the
    index SQLite walks decides (all observed on a real 2.5.3):
    - a DAG and a run (`ti_dag_run`), or DAGs and an `execution_date` range (the plan starts
      from `dag_run`): table order; but a state filter without `none` (one IN) walks
      `ti_dag_state`, so the rows come by state;
    - DAGs without a run (`ti_dag_state`): DAG id ascending, then state (NULL first);
    - any DAG with a state filter (`ti_state`): grouped by state, ascending; when `none` is asked
      for, SQLite looks up each asked state in turn, so the groups follow the request;
    - any DAG and run with a pool filter (`ti_pool`): pool, state, priority weight;
    - otherwise (a full scan): table order."""
    dated = filters.get("execution_date_gte") is not None or filters.get("execution_date_lte") is not None
    asked = filters.get("state")
    if dag_ids_given:
        if run_given and asked and "none" not in asked:
            return lambda ti: (ti.state or "",)
        if run_given or dated:
            return None
        return lambda ti: (ti.dag_id, _null_first(ti.state))
    if asked:
        return _state_terms(list(asked))
    if filters.get("pool") and not run_given:
        return lambda ti: (ti.pool, _null_first(ti.state), ti.priority_weight)
    return None


def _null_first(value: str | None) -> tuple[bool, str]:
    return value is not None, value or ""


class StateOrder:
    """A sort key that groups rows by state, the states in `states` order (a state filter
    walks the state index). As a key it ranks a row; `select` also reads `states` to answer
    from the per-state buckets, already in this order, without sorting."""

    def __init__(self, states: list[str | None]) -> None:
        self.states = states
        self._rank = {value: position for position, value in enumerate(states)}

    def __call__(self, ti: TaskInstance) -> tuple[Any, ...]:
        return (self._rank.get(ti.state, len(self._rank)),)


def _state_terms(asked: list[str]) -> StateOrder:
    wanted = list(dict.fromkeys(None if value == "none" else value for value in asked))
    if None not in wanted:  # equalities on one column become one IN, walked in index order
        wanted.sort(key=_null_first)
    return StateOrder(wanted)


def select(state: State, runs: Sequence[DagRun] | None, filters: Mapping[str, Any], offset: int,
           limit: int | None, order: OrderKey | None = None) -> tuple[int, list[TaskInstance]]:
    """(total, page) of the runs' task instances (None: all) matching `filters`, in table order
    sorted by `order` (see `scan_order`), ties in table order."""
    predicate = ti_predicate(filters)
    end = None if limit is None else offset + limit
    table = state.task_instances
    rows: Iterable[TaskInstance]
    wanted_states = states_of(filters.get("state"))
    if runs is None and wanted_states is not None:
        others = ti_predicate({name: value for name, value in filters.items() if name != "state"})
        if isinstance(order, StateOrder) and set(order.states) == set(wanted_states):
            # Rows grouped by state in that order, each state in table order: the buckets as
            # they are, one after the other (no sort over, say, every running task instance).
            buckets = [table.in_state(value) for value in order.states]
            if others is None:
                return sum(len(bucket) for bucket in buckets), list(islice(chain.from_iterable(buckets), offset, end))
            matched = [ti for bucket in buckets for ti in bucket if others(ti)]
            return len(matched), matched[offset:end]
        buckets = [table.in_state(value) for value in dict.fromkeys(wanted_states)]
        rows = table.in_table_order(ti for bucket in buckets for ti in bucket)
        predicate = others
    elif runs is None:
        rows = table.values()
        if predicate is None and order is None:
            return len(table), list(islice(rows, offset, end))
    else:
        indexes = [table.of_run(run.dag_id, run.dag_run_id) for run in runs]
        rows = (ti for index in indexes for ti in index.values())
        if len(indexes) > 1:
            rows = table.in_table_order(rows)
    matched = list(rows) if predicate is None else [ti for ti in rows if predicate(ti)]
    if order is None:
        return len(matched), matched[offset:end]
    if end is not None and end * 8 < len(matched):
        # a page from far more rows: the smallest `end` of them (heapq says: as sorted()[:end])
        return len(matched), heapq.nsmallest(end, matched, key=order)[offset:]
    matched.sort(key=order)
    return len(matched), matched[offset:end]
