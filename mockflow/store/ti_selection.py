"""Which task instances a list shows: the filters of the task-instance lists, the runs they
look at, the order the real server's query plan gives, and the page, read from the table's
indexes (by run, state, pool, queue, and date and duration ranges)."""

from __future__ import annotations

import heapq
import operator
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from itertools import chain, islice
from typing import Any

from mockflow.store.records import DagRun, TaskInstance
from mockflow.store.state import State
from mockflow.store.tables import TI_RANGES, TaskInstanceTable
from mockflow.values import value_class
from mockflow.wire import parse_datetime

Predicate = Callable[[TaskInstance], bool]


def states_of(values: Sequence[str] | None) -> list[str | None] | None:
    """`none` means SQL NULL; an empty list filters nothing."""
    if not values:
        return None
    return [None if value == "none" else value for value in values]


def ti_predicate(filters: Mapping[str, Any]) -> Predicate | None:
    """One test for the task-instance-level filters given (None: there are none)."""
    checks: list[Predicate] = []
    for name in TI_RANGES:
        low, high = _bound(filters.get(f"{name}_gte")), _bound(filters.get(f"{name}_lte"))
        if low is not None or high is not None:
            checks.append(_range_check(name, low, high))
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
    every run: the caller then reads the task-instance table directly, where the
    `execution_date` range is a task-instance filter like the other dates."""
    low, high = _bound(filters.get("execution_date_gte")), _bound(filters.get("execution_date_lte"))
    if run_id is not None and dag_ids is not None:
        runs: Iterable[DagRun] = [run for dag_id in dag_ids if (run := state.dag_runs.get((dag_id, run_id)))]
    elif run_id is not None:
        runs = [run for run in state.dag_runs.values() if run.dag_run_id == run_id]
    elif dag_ids is None:
        # Every run: a date range is then the task instances' own `execution_date` filter, read
        # off their order by it (`select`), not off thousands of runs one by one.
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
        return PoolOrder()
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


class PoolOrder:
    """The pool index's order, (pool, state NULL first, priority weight): the order of the table's
    (pool, state, priority weight) groups, which `select` reads one after the other."""

    def __call__(self, ti: TaskInstance) -> tuple[Any, ...]:
        return ti.pool, _null_first(ti.state), ti.priority_weight

    @staticmethod
    def of_group(group: tuple[str, str | None, int]) -> tuple[Any, ...]:
        return group[0], _null_first(group[1]), group[2]


# --- the page ----------------------------------------------------------------------------------------
#
# Each filter the table indexes can name its rows and count them without reading them: the runs
# asked for, the states, the pools, the queues, each date or duration range. `select` starts
# from the one with the fewest rows and tests the other filters on those only; when that one is
# the only filter, its count is the total and the page is read straight off the index.

@value_class
class _Source:
    """The rows one indexed filter allows: how many, and how to read them."""

    count: int
    covers: frozenset[str]  # the filters it answers: "runs", "state", "pool", "queue", TI_RANGES
    in_table_order: Callable[[], Iterable[TaskInstance]]
    # the page in `order` when this filter alone decides the rows, or None when it cannot cut one
    page: Callable[[OrderKey | None, int, int | None], list[TaskInstance] | None]


def select(state: State, runs: Sequence[DagRun] | None, filters: Mapping[str, Any], offset: int,
           limit: int | None, order: OrderKey | None = None) -> tuple[int, list[TaskInstance]]:
    """(total, page) of the runs' task instances (None: all) matching `filters`, in table order
    sorted by `order` (see `scan_order`), ties in table order."""
    table = state.task_instances
    end = None if limit is None else offset + limit
    sources = _sources(table, runs, filters, order)
    if not sources:
        if order is None:
            return len(table), list(islice(table.values(), offset, end))
        return len(table), _cut(list(table.values()), order, offset, end)
    narrowest = min(sources, key=lambda source: (source.count, -len(source.covers)))
    rest = _rest(filters, runs, narrowest.covers)
    if rest is None:
        page = narrowest.page(order, offset, end)
        if page is not None:
            return narrowest.count, page
        matched = list(narrowest.in_table_order())
    else:
        matched = [ti for ti in narrowest.in_table_order() if rest(ti)]
    return len(matched), _cut(matched, order, offset, end)


def _cut(rows: list[TaskInstance], order: OrderKey | None, offset: int, end: int | None) -> list[TaskInstance]:
    """rows (in table order) sorted by `order`, from `offset` to `end`."""
    if order is None:
        return rows[offset:end]
    if end is not None and end * 8 < len(rows):
        # a page from far more rows: the smallest `end` of them (heapq says: as sorted()[:end])
        return heapq.nsmallest(end, rows, key=order)[offset:]
    rows.sort(key=order)
    return rows[offset:end]


def _rest(filters: Mapping[str, Any], runs: Sequence[DagRun] | None, covered: frozenset[str]) -> Predicate | None:
    """One test for every filter but the `covered` ones (None: there are none left)."""
    others = ti_predicate({name: value for name, value in filters.items() if _filter_of(name) not in covered})
    if runs is None or "runs" in covered:
        return others
    run_keys = {(run.dag_id, run.dag_run_id) for run in runs}
    if others is None:
        return lambda ti: (ti.dag_id, ti.dag_run_id) in run_keys
    return lambda ti: (ti.dag_id, ti.dag_run_id) in run_keys and others(ti)


def _filter_of(name: str) -> str:
    return name.removesuffix("_gte").removesuffix("_lte")


def _sources(table: TaskInstanceTable, runs: Sequence[DagRun] | None, filters: Mapping[str, Any],
             order: OrderKey | None) -> list[_Source]:
    sources = [] if runs is None else [_run_source(table, runs)]
    wanted_states = states_of(filters.get("state"))
    if wanted_states is not None:
        wanted_states = list(dict.fromkeys(wanted_states))
        sources.append(_state_source(table, wanted_states, order))
    if filters.get("pool") is not None:
        sources.append(_pool_source(table, frozenset(filters["pool"]), wanted_states, order))
    if filters.get("queue") is not None:
        sources.append(_queue_source(table, list(dict.fromkeys(filters["queue"]))))
    for name in TI_RANGES:
        low, high = _bound(filters.get(f"{name}_gte")), _bound(filters.get(f"{name}_lte"))
        if low is not None or high is not None:
            sources.append(_range_source(table, name, low, high))
    return sources


OwnPage = Callable[[OrderKey | None], Iterable[TaskInstance] | None]


def _grouped(table: TaskInstanceTable, covers: frozenset[str], groups: list[Collection[TaskInstance]],
             own_order: OwnPage | None = None) -> _Source:
    """A source made of index groups, each in table order. `own_order` reads them in a list order
    they give without sorting (None when they do not give that one)."""
    def page(order: OrderKey | None, offset: int, end: int | None) -> list[TaskInstance] | None:
        if own_order is not None and (rows := own_order(order)) is not None:
            return list(islice(rows, offset, end))
        if order is None:
            return list(islice(_in_order(table, groups, whole=False), offset, end))
        return None

    return _Source(sum(map(len, groups)), covers, lambda: _in_order(table, groups, whole=True), page)


def _in_order(table: TaskInstanceTable, groups: Iterable[Collection[TaskInstance]], *,
              whole: bool) -> Iterable[TaskInstance]:
    """The rows of several groups, each in table order, merged into table order: lazily for a
    page, or (`whole`) as a sorted list when every row will be read."""
    groups = [group for group in groups if group]
    if len(groups) <= 1:
        return groups[0] if groups else ()
    if table.ids_ordered:  # table order is id order
        follows = _one_after_another(groups)
        if not follows:
            groups.sort(key=lambda group: next(iter(group)).id)
            follows = _one_after_another(groups)
        if follows:  # as the rows of runs usually are: made together
            return chain.from_iterable(groups)
        if not whole:
            return heapq.merge(*groups, key=_ROW_ID)
    return table.in_table_order(chain.from_iterable(groups))


def _one_after_another(groups: list[Collection[TaskInstance]]) -> bool:
    """Whether each group's rows all come before the next group's (the groups hold rows).
    Written as maps, so that the loops over thousands of runs' groups run in C."""
    firsts = list(map(_ROW_ID, map(next, map(iter, groups))))
    lasts = list(map(_ROW_ID, map(next, map(reversed, groups))))  # type: ignore[arg-type]
    return all(map(operator.lt, lasts, islice(firsts, 1, None)))


def _run_source(table: TaskInstanceTable, runs: Sequence[DagRun]) -> _Source:
    by_run = table.by_run
    groups: list[Collection[TaskInstance]] = [
        by_run[key].values() for run in runs if (key := (run.dag_id, run.dag_run_id)) in by_run]
    return _grouped(table, _RUNS, groups)


def _state_source(table: TaskInstanceTable, wanted: list[str | None], order: OrderKey | None) -> _Source:
    if isinstance(order, StateOrder) and set(order.states) == set(wanted):
        # grouped by state in the order's sequence, each state in table order: the groups as they are
        groups = [table.in_state(value) for value in order.states]
        return _grouped(table, _STATE, groups, lambda asked: chain.from_iterable(groups) if asked is order else None)
    return _grouped(table, _STATE, [table.in_state(value) for value in wanted])


def _pool_source(table: TaskInstanceTable, pools: frozenset[str], states: list[str | None] | None,
                 order: OrderKey | None) -> _Source:
    """The (pool, state, priority weight) groups of the pools asked for, and of the states asked
    for too when there is a state filter (then this one source answers both)."""
    chosen = sorted((group for group in table.pool_groups() if group[0] in pools
                     and (states is None or group[1] in states)), key=PoolOrder.of_group)
    groups = [table.in_pool_group(group) for group in chosen]
    if states is None:
        return _grouped(table, _POOL, groups,
                        lambda asked: chain.from_iterable(groups) if isinstance(asked, PoolOrder) else None)

    def by_state(asked: OrderKey | None) -> Iterable[TaskInstance] | None:
        if not (isinstance(asked, StateOrder) and set(asked.states) == set(states)):
            return None
        # each state's rows (from its pools' and weights' groups) in table order, state after state
        return chain.from_iterable(
            _in_order(table, [rows for group, rows in zip(chosen, groups, strict=True) if group[1] == value],
                      whole=False) for value in asked.states)

    return _grouped(table, _POOL | _STATE, groups, by_state)


def _queue_source(table: TaskInstanceTable, queues: list[str]) -> _Source:
    return _grouped(table, frozenset({"queue"}), [table.in_queue(queue) for queue in queues])


def _range_source(table: TaskInstanceTable, name: str, low: Any, high: Any) -> _Source:
    count = table.count_between(name, low, high)

    def rows() -> list[TaskInstance]:
        return table.in_table_order(table.between(name, low, high))

    def page(order: OrderKey | None, offset: int, end: int | None) -> list[TaskInstance] | None:
        if order is not None:
            return None
        if end is None or not table.ids_ordered:
            return rows()[offset:end]
        if count and count * count >= end * len(table):
            # Many rows match, spread over the table: reading it in order finds a page after
            # about end * len / count rows, fewer than the matches. Matches bunched late make that
            # a long read, so it stops after twice the expected length and takes the index's.
            check = _range_check(name, low, high)
            budget = 2 * end * len(table) // count + _SCAN_SLACK
            found = list(islice(filter(check, islice(table.values(), budget)), end))
            if len(found) == min(end, count):
                return found[offset:]
        return table.first_between(name, low, high, end)[offset:]

    return _Source(count, frozenset({name}), rows, page)


_ROW_ID = operator.attrgetter("id")
_RUNS, _STATE, _POOL = frozenset({"runs"}), frozenset({"state"}), frozenset({"pool"})
_SCAN_SLACK = 1024  # rows read beyond twice the expected length before taking the index's
