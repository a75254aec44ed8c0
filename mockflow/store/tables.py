"""The DAG-run and task-instance tables: rows in `id` order with the indexes the API's filters use.

Each table alone writes its rows and its indexes: every insert, delete, state change and field
change goes through one of its methods, which records its inverse in the state's undo log
(`store/changes.py`) when that is on. Readers get Mapping-like access to the rows and read-only
views of the indexes.

An index answers in the table's order (its insertion order, Airflow's `id` order). Per-DAG and
per-run buckets only ever grow at their end, so they keep it. A state bucket receives records
out of order when states change; it is put back in order on its next read, by `id` while the
ids increase with insertion (always, for ids the store hands out), otherwise by a full scan.

The task-instance table also keeps the sum of `pool_slots` per pool and state, changed with the
state index (the same two places), so a pool's slot figures never scan task instances. The run
table counts its runs by state, so a state-filtered list of every run knows its total without
reading all runs. Each count change logs its own inverse, like every other write.
"""

from __future__ import annotations

import heapq
import operator
import sys
from collections.abc import (
    Callable,
    Collection,
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    ValuesView,
)
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar

from mockflow.store.changes import Changes
from mockflow.store.indexes import Buckets, SortedRows
from mockflow.store.records import NO_RENDERED_FIELDS, DagRun, TaskInstance
from mockflow.store.states import RUN_FINISHED, run_can_move, ti_can_move

RunKey = tuple[str, str]  # (dag_id, dag_run_id)
TaskInstanceKey = tuple[str, str, str, int]  # (dag_id, dag_run_id, task_id, map_index)
PoolGroup = tuple[str, str | None, int]  # (pool, state, priority_weight)
K = TypeVar("K")
R = TypeVar("R")


class _Rows(Generic[K, R]):
    """Read access to a table's rows, like a dict's."""

    __slots__ = ("_ids_ordered", "_last_id", "_rows", "changes")
    __hash__ = None  # type: ignore[assignment]
    _key_of: ClassVar[operator.attrgetter[Any]]  # a row's key in the table (an attrgetter: a thaw calls it in C)

    def __init__(self) -> None:
        self._rows: dict[K, R] = {}
        self._ids_ordered = True  # every insert so far had a larger id than all before it
        self._last_id = 0
        self.changes = Changes()  # the owning State's log, once it attaches it

    # A seed holds the rows as a list and the keys are made again from them when thawed: in C,
    # that is twice as fast as unpickling a million key tuples and the dict around them.
    def __getstate__(self) -> dict[str, Any]:
        saved = {name: getattr(self, name) for name in _slot_names(type(self))}
        saved["_rows"] = list(self._rows.values())
        return saved

    def __setstate__(self, saved: dict[str, Any]) -> None:
        rows = saved.pop("_rows")
        self._rows = dict(zip(map(self._key_of, rows), rows, strict=True))
        for name, value in saved.items():
            setattr(self, name, value)

    def get(self, key: K, default: R | None = None) -> R | None:
        return self._rows.get(key, default)

    def __getitem__(self, key: K) -> R:
        return self._rows[key]

    def __contains__(self, key: object) -> bool:
        return key in self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[K]:
        return iter(self._rows)

    def keys(self) -> KeysView[K]:
        return self._rows.keys()

    def values(self) -> ValuesView[R]:
        return self._rows.values()

    def items(self) -> ItemsView[K, R]:
        return self._rows.items()

    def __eq__(self, other: object) -> bool:
        # The indexes follow from the rows; equal rows in equal order make equal tables.
        return isinstance(other, _Rows) and type(other) is type(self) and list(self._rows.items()) == list(
            other._rows.items())

    @property
    def ids_ordered(self) -> bool:
        """Whether every row so far came with a larger id than all before it: then table order is id order."""
        return self._ids_ordered

    def in_table_order(self, rows: Iterable[R]) -> list[R]:
        """Rows of this table, put in table order (by `id` while ids follow insertion)."""
        if self._ids_ordered:
            return sorted(rows, key=_ROW_ID)
        position = {key: index for index, key in enumerate(self._rows)}
        return sorted(rows, key=lambda row: position[self._key_of(row)])

    def _note_insert(self, key: K, row_id: int) -> None:
        if self.changes.on:
            self.changes.set(self, _ids_ordered=self._ids_ordered, _last_id=self._last_id)
        if key in self._rows or row_id <= self._last_id:
            self._ids_ordered = False
        self._last_id = max(self._last_id, row_id)


# The run fields a date range filters on, each kept in order of (value, id) for every run whose
# value is not NULL (a NULL never satisfies a bound).
RUN_DATES = ("logical_date", "start_date", "end_date")


class RunTable(_Rows[RunKey, DagRun]):
    """DAG runs by (dag_id, dag_run_id), with the per-DAG index every run filter starts from and
    the runs in order of each of `RUN_DATES`, which date ranges read by bisection."""

    __slots__ = ("_by_dag", "_by_date", "_state_counts")

    _key_of = operator.attrgetter("dag_id", "dag_run_id")

    def __init__(self) -> None:
        super().__init__()
        self._by_dag: dict[str, dict[str, DagRun]] = {}
        self._state_counts: dict[str | None, int] = {}  # state -> how many runs have it (no zeros)
        self._by_date: dict[str, SortedRows[DagRun]] = {name: SortedRows(name) for name in RUN_DATES}

    # --- reads ---------------------------------------------------------------------------------------

    @property
    def by_dag(self) -> Mapping[str, Mapping[str, DagRun]]:
        """dag_id -> {run_id: run}, in table order (read-only)."""
        return self._by_dag

    def of_dag(self, dag_id: str) -> Collection[DagRun]:
        bucket = self._by_dag.get(dag_id)
        return bucket.values() if bucket else ()

    def count_in_state(self, run_state: str | None) -> int:
        return self._state_counts.get(run_state, 0)

    @property
    def state_counts(self) -> Mapping[str | None, int]:
        """state -> number of runs in it (read-only; states without runs are absent)."""
        return self._state_counts

    def date_order(self, name: str) -> Iterable[DagRun]:
        """The runs with a `name`, by (value, id) (read-only)."""
        return self._by_date[name]

    def dated(self, name: str, low: datetime | None, high: datetime | None) -> list[DagRun]:
        """The runs whose `name` (one of `RUN_DATES`) is within [low, high], in table order."""
        return self.in_table_order(self._by_date[name].between(low, high))

    def of_dags(self, dag_ids: Iterable[str] | None) -> Iterator[DagRun]:
        """Runs of the given DAGs (None: all), in table order."""
        if dag_ids is None:
            yield from self._rows.values()
            return
        wanted = set(dag_ids)
        chosen = [self._by_dag[dag_id].values() for dag_id in wanted if self._by_dag.get(dag_id)]
        if len(chosen) == 1:
            yield from chosen[0]
        elif self._ids_ordered:  # ids increase with insertion: merging by id gives table order
            yield from heapq.merge(*chosen, key=lambda run: run.id)
        elif chosen:
            yield from (run for run in self._rows.values() if run.dag_id in wanted)

    # --- writes --------------------------------------------------------------------------------------

    def insert(self, run: DagRun) -> None:
        key = (run.dag_id, run.dag_run_id)
        changes = self.changes
        self._note_insert(key, run.id)
        changes.put(self._rows, key, run)
        bucket = self._by_dag.get(run.dag_id)
        if bucket is None:
            bucket = {}
            changes.put(self._by_dag, run.dag_id, bucket)
        changes.put(bucket, run.dag_run_id, run)
        self._count(run.state, +1)
        for name in RUN_DATES:
            self._date_in(name, run)

    def delete(self, run: DagRun) -> None:
        changes = self.changes
        changes.pop(self._rows, (run.dag_id, run.dag_run_id))
        bucket = self._by_dag.get(run.dag_id)
        if bucket is not None:
            changes.pop(bucket, run.dag_run_id, None)
            if not bucket:
                changes.pop(self._by_dag, run.dag_id)
        self._count(run.state, -1)
        for name in RUN_DATES:
            self._date_out(name, run)

    def delete_dags(self, dag_ids: Collection[str]) -> None:
        for dag_id in dag_ids:
            for run in list(self.of_dag(dag_id)):
                self.delete(run)

    def set_state(self, run: DagRun, new_state: str, now: datetime) -> None:
        """The DagRun `state` setter: a change stamps `end_date` when finished, clears it otherwise."""
        if run.state == new_state:
            return
        if not run_can_move(run.state, new_state):
            raise ValueError(f"a DAG run cannot move from {run.state!r} to {new_state!r}")
        self._count(run.state, -1)
        self._date_out("end_date", run)
        self.changes.set(run, state=new_state, end_date=now if new_state in RUN_FINISHED else None)
        self._date_in("end_date", run)
        self._count(new_state, +1)

    def update(self, run: DagRun, **fields: Any) -> None:
        """Changes fields other than the key, the state and the logical date (which never moves)."""
        _refuse_fixed(fields, ("dag_id", "dag_run_id", "state", "logical_date"))  # before any index moves
        moved = [name for name in RUN_DATES if name in fields]
        for name in moved:
            self._date_out(name, run)
        self.changes.set(run, **fields)
        for name in moved:
            self._date_in(name, run)

    # A NULL date is not kept; each move logs its inverse, to run with the run's fields as they were.
    def _date_in(self, name: str, run: DagRun) -> None:
        if getattr(run, name) is not None:
            ordered = self._by_date[name]
            if self.changes.on:
                self.changes.record(ordered.remove, run)
            ordered.add(run)

    def _date_out(self, name: str, run: DagRun) -> None:
        if getattr(run, name) is not None:
            ordered = self._by_date[name]
            if self.changes.on:
                self.changes.record(ordered.add, run)
            ordered.remove(run)

    def _count(self, run_state: str | None, change: int) -> None:
        if self.changes.on:
            self.changes.record(self._add_to_count, run_state, -change)
        self._add_to_count(run_state, change)

    def _add_to_count(self, run_state: str | None, change: int) -> None:
        total = self._state_counts.get(run_state, 0) + change
        if total:
            self._state_counts[run_state] = total
        else:
            self._state_counts.pop(run_state, None)


# What each index of the task-instance table groups or orders its rows by: a write that changes
# one of these fields takes the row out of that index first and puts it back after.
TI_RANGES = ("start_date", "end_date", "duration", "execution_date")
_INDEXED_BY = {
    "state": ("state",),
    "pool": ("pool", "state", "priority_weight", "pool_slots"),
    "queue": ("queue",),
    **{name: (name,) for name in TI_RANGES},
}
_EVERY_INDEX = tuple(_INDEXED_BY)


class TaskInstanceTable(_Rows[TaskInstanceKey, TaskInstance]):
    """Task instances by (dag_id, dag_run_id, task_id, map_index), indexed by run; grouped by
    state, by (pool, state, priority weight) and by queue; ordered by each of `TI_RANGES`."""

    __slots__ = ("_by_pool", "_by_queue", "_by_run", "_by_state", "_pool_slots", "_ranges", "runs")

    _key_of = operator.attrgetter("dag_id", "dag_run_id", "task_id", "map_index")

    def __init__(self) -> None:
        super().__init__()
        self.runs: RunTable | None = None  # the owning State's runs, once it attaches them
        self._by_run: dict[RunKey, dict[tuple[str, int], TaskInstance]] = {}
        self._by_state: Buckets[str | None, TaskInstance] = Buckets()
        self._by_pool: Buckets[PoolGroup, TaskInstance] = Buckets()
        self._by_queue: Buckets[str, TaskInstance] = Buckets()
        # every row whose value is not NULL (a NULL never satisfies a bound), by (value, id)
        self._ranges: dict[str, SortedRows[TaskInstance]] = {
            name: SortedRows(name, "number" if name == "duration" else "date") for name in TI_RANGES}
        # pool -> state -> sum of pool_slots of the rows in that pool and state (no zero entries)
        self._pool_slots: dict[str, dict[str | None, int]] = {}

    # --- reads ---------------------------------------------------------------------------------------

    @property
    def by_run(self) -> Mapping[RunKey, Mapping[tuple[str, int], TaskInstance]]:
        """(dag_id, run_id) -> {(task_id, map_index): ti}, in table order (read-only)."""
        return self._by_run

    def of_run(self, dag_id: str, run_id: str) -> Mapping[tuple[str, int], TaskInstance]:
        return self._by_run.get((dag_id, run_id)) or {}

    def states(self) -> Collection[str | None]:
        """The states some task instance is in."""
        return self._by_state.groups()

    def count_in_state(self, ti_state: str | None) -> int:
        return self._by_state.count(ti_state)

    def in_state(self, ti_state: str | None) -> Collection[TaskInstance]:
        """The task instances in one state, in table order."""
        return self._by_state.rows(ti_state, self._ids_ordered, self._rows.values())

    def pool_groups(self) -> Collection[PoolGroup]:
        """The (pool, state, priority_weight) groups some task instance is in."""
        return self._by_pool.groups()

    def count_in_pool_group(self, group: PoolGroup) -> int:
        return self._by_pool.count(group)

    def in_pool_group(self, group: PoolGroup) -> Collection[TaskInstance]:
        """The task instances of one (pool, state, priority_weight), in table order."""
        return self._by_pool.rows(group, self._ids_ordered, self._rows.values())

    def queues(self) -> Collection[str]:
        """The queues some task instance is in."""
        return self._by_queue.groups()

    def count_in_queue(self, queue: str) -> int:
        return self._by_queue.count(queue)

    def in_queue(self, queue: str) -> Collection[TaskInstance]:
        """The task instances of one queue, in table order."""
        return self._by_queue.rows(queue, self._ids_ordered, self._rows.values())

    def count_between(self, name: str, low: Any, high: Any) -> int:
        """How many task instances have a `name` (one of `TI_RANGES`) within [low, high]."""
        return self._ranges[name].count_between(low, high)

    def between(self, name: str, low: Any, high: Any) -> Iterator[TaskInstance]:
        """The task instances with a `name` within [low, high], by (value, id)."""
        return self._ranges[name].between(low, high)

    def first_between(self, name: str, low: Any, high: Any, wanted: int) -> list[TaskInstance]:
        """The first `wanted` task instances in table order with a `name` within [low, high]
        (while ids follow the table: see `ids_ordered`)."""
        if not self._ids_ordered:
            raise ValueError("table order is not id order")
        return self._ranges[name].first_by_id(low, high, wanted)

    def range_order(self, name: str) -> Iterable[TaskInstance]:
        """Every task instance with a `name`, by (value, id) (read-only)."""
        return self._ranges[name]

    def pool_slots(self, pool: str, ti_state: str | None) -> int:
        """The sum of `pool_slots` over the task instances in `pool` and `ti_state`."""
        return self._pool_slots.get(pool, {}).get(ti_state, 0)

    @property
    def slots_by_pool(self) -> Mapping[str, Mapping[str | None, int]]:
        """pool -> state -> summed `pool_slots` (read-only; states without rows are absent)."""
        return self._pool_slots

    # --- writes --------------------------------------------------------------------------------------

    def insert(self, ti: TaskInstance) -> None:
        _share_common_values(ti)
        run_key = (ti.dag_id, ti.dag_run_id)
        if self.runs is not None:  # the run decides (no run: no date, as the API's join has none)
            run = self.runs.get(run_key)
            ti.execution_date = None if run is None else run.logical_date
        key = (ti.dag_id, ti.dag_run_id, ti.task_id, ti.map_index)
        changes = self.changes
        old = self._rows.get(key)
        if old is not None:  # a replaced row keeps its place in the table
            self._leave(old, _EVERY_INDEX)
        self._note_insert(key, ti.id)
        changes.put(self._rows, key, ti)
        bucket = self._by_run.get(run_key)
        if bucket is None:
            bucket = {}
            changes.put(self._by_run, run_key, bucket)
        changes.put(bucket, _shared_task_key(ti.task_id, ti.map_index), ti)
        self._enter(ti, _EVERY_INDEX)

    def delete(self, ti: TaskInstance) -> None:
        key = (ti.dag_id, ti.dag_run_id, ti.task_id, ti.map_index)
        changes = self.changes
        changes.pop(self._rows, key)
        bucket = self._by_run.get((ti.dag_id, ti.dag_run_id))
        if bucket is not None:
            changes.pop(bucket, (ti.task_id, ti.map_index), None)
            if not bucket:
                changes.pop(self._by_run, (ti.dag_id, ti.dag_run_id))
        self._leave(ti, _EVERY_INDEX)

    def delete_where(self, doomed: Callable[[TaskInstance], bool]) -> None:
        for ti in [ti for ti in self._rows.values() if doomed(ti)]:
            self.delete(ti)

    def set_state(self, ti: TaskInstance, new_state: str | None) -> None:
        if ti.state == new_state:
            return
        if not ti_can_move(ti.state, new_state):
            raise ValueError(f"a task instance cannot move from {ti.state!r} to {new_state!r}")
        self._leave(ti, _STATE_INDEXES)
        self.changes.set(ti, state=new_state if new_state is None else sys.intern(new_state))
        self._enter(ti, _STATE_INDEXES)

    def update(self, ti: TaskInstance, **fields: Any) -> None:
        """Changes fields other than the key, the state and the id."""
        _refuse_fixed(fields, _TI_FIXED)  # before any index moves
        moved = tuple(index for index, names in _INDEXED_BY.items() if any(name in fields for name in names))
        if moved:
            self._leave(ti, moved)
        self.changes.set(ti, **fields)
        if moved:
            _share_common_values(ti)
            self._enter(ti, moved)

    # Index entries are not logged one by one: each write records the inverse that takes the row
    # out of, or puts it back in, the indexes it changed (its fields by then as they were).
    def _enter(self, ti: TaskInstance, indexes: tuple[str, ...]) -> None:
        if self.changes.on:
            self.changes.record(self._take, ti, indexes)
        self._put(ti, indexes)

    def _leave(self, ti: TaskInstance, indexes: tuple[str, ...]) -> None:
        if self.changes.on:
            self.changes.record(self._put, ti, indexes)
        self._take(ti, indexes)

    def _put(self, ti: TaskInstance, indexes: tuple[str, ...]) -> None:
        ordered = self._ids_ordered
        for index in indexes:
            if index == "state":
                self._by_state.put(ti.state, ti, ordered)
            elif index == "pool":
                self._by_pool.put((ti.pool, ti.state, ti.priority_weight), ti, ordered)
                self._count(ti, +1)
            elif index == "queue":
                self._by_queue.put(ti.queue, ti, ordered)
            elif getattr(ti, index) is not None:
                self._ranges[index].add(ti)

    def _take(self, ti: TaskInstance, indexes: tuple[str, ...]) -> None:
        for index in indexes:
            if index == "state":
                self._by_state.drop(ti.state, ti)
            elif index == "pool":
                self._by_pool.drop((ti.pool, ti.state, ti.priority_weight), ti)
                self._count(ti, -1)
            elif index == "queue":
                self._by_queue.drop(ti.queue, ti)
            elif getattr(ti, index) is not None:
                self._ranges[index].remove(ti)

    def _count(self, ti: TaskInstance, sign: int) -> None:
        """Adds (sign +1) or takes away (-1) the row's slots in its pool and state."""
        by_state = self._pool_slots.get(ti.pool)
        if by_state is None:
            by_state = self._pool_slots[ti.pool] = {}
        total = by_state.get(ti.state, 0) + sign * ti.pool_slots
        if total:
            by_state[ti.state] = total
        else:
            by_state.pop(ti.state, None)
            if not by_state:
                del self._pool_slots[ti.pool]


_STATE_INDEXES = tuple(index for index, names in _INDEXED_BY.items() if "state" in names)
_TI_FIXED = ("dag_id", "dag_run_id", "task_id", "map_index", "state", "id", "execution_date")


def _refuse_fixed(fields: Mapping[str, Any], fixed: tuple[str, ...]) -> None:
    for name in fields:
        if name in fixed:
            raise ValueError(f"{name} is not changed by update")


_ROW_ID = operator.attrgetter("id")


def _slot_names(cls: type) -> list[str]:
    return [name for klass in cls.__mro__ for name in getattr(klass, "__slots__", ())]


_TASK_KEYS: dict[tuple[str, int], tuple[str, int]] = {}


def _shared_task_key(task_id: str, map_index: int) -> tuple[str, int]:
    """One (task_id, map_index) tuple for all runs of a task: a million task instances hold a few
    thousand, and a seed pickles each once, then refers to it (thawing faster, in less memory)."""
    key = (task_id, map_index)
    return _TASK_KEYS.setdefault(key, key)


def _share_common_values(ti: TaskInstance) -> None:
    # A million task instances repeat a few thousand ids and a handful of states, pools, queues
    # and executor configs, and most have no rendered fields: one shared object per distinct
    # value saves memory and pickles as a reference.
    ti.dag_id, ti.dag_run_id, ti.task_id = sys.intern(ti.dag_id), sys.intern(ti.dag_run_id), sys.intern(ti.task_id)
    ti.pool, ti.queue, ti.unixname, ti.hostname = (sys.intern(ti.pool), sys.intern(ti.queue),
                                                   sys.intern(ti.unixname), sys.intern(ti.hostname))
    if ti.state is not None:
        ti.state = sys.intern(ti.state)
    if ti.operator is not None:
        ti.operator = sys.intern(ti.operator)
    ti.executor_config = sys.intern(ti.executor_config)  # nearly always "{}"
    if not ti.rendered_fields:
        ti.rendered_fields = NO_RENDERED_FIELDS
