"""Scheduled runs: an unpaused DAG with a schedule gets a `scheduled` run once the clock passes the
end of its next data interval (`next_dagrun_create_after`), as the scheduler's `_create_dag_runs`
makes them, and its `next_dagrun*` fields advance.

What comes next is worked out from the DAG's latest automated (scheduled or backfill) run, as the
DAG processor's `calculate_dagrun_date_fields` does at every parse, with the DAG's timetable,
start and end dates and catchup. A DAG at `max_active_runs` (queued and running runs) gets no run
and shows `next_dagrun_create_after` null until one of its runs ends.
"""

from __future__ import annotations

from datetime import datetime

from mockflow.store.records import Dag, DagRun
from mockflow.store.state import State
from mockflow.store.states import RUN_UNFINISHED
from mockflow.store.task_instances import create_task_instances
from mockflow.store.timetables import DataInterval, Restriction, RunInfo, Timetable, timetable_of
from mockflow.wire import iso

SCHEDULED = "scheduled"
AUTOMATED = frozenset({SCHEDULED, "backfill"})
CREATE_BATCH = 10  # `max_dagruns_to_create_per_loop`: DAGs that get a run in one scheduler loop
_NEXT_FIELDS = ("next_dagrun", "next_dagrun_data_interval_start", "next_dagrun_data_interval_end",
                "next_dagrun_create_after")


def timetable(dag: Dag) -> Timetable:
    return timetable_of(dag.schedule_interval, dag.wire.get("timezone"))


def restriction(dag: Dag) -> Restriction:
    """`DAG._time_restriction`: the earliest start date of the DAG and its tasks; the latest end date
    only when every task has one, else the DAG's."""
    starts = [task.start_date for task in dag.tasks.values() if task.start_date is not None]
    if dag.start_date is not None:
        starts.append(dag.start_date)
    latest = dag.end_date
    ends = [task.end_date for task in dag.tasks.values() if task.end_date is not None]
    if dag.tasks and len(ends) == len(dag.tasks):
        latest = max([*ends, *([dag.end_date] if dag.end_date else [])])
    return Restriction(min(starts, default=None), latest, bool(dag.wire.get("catchup", True)))


def latest_automated(runs: list[DagRun]) -> DagRun | None:
    automated = [run for run in runs if run.run_type in AUTOMATED]
    return max(automated, key=lambda run: run.logical_date, default=None)


def interval_of(table: Timetable, run: DagRun | None) -> DataInterval | None:
    """`DAG.get_run_data_interval`: the run's own interval, or the one its logical date implies."""
    if run is None:
        return None
    if run.data_interval_start is not None and run.data_interval_end is not None:
        return DataInterval(run.data_interval_start, run.data_interval_end)
    return table.automated_interval(run.logical_date)


def next_run(dag: Dag, runs: list[DagRun], now: datetime) -> RunInfo | None:
    """`DAG.next_dagrun_info` after the DAG's latest automated run, as of `now`."""
    table, limits = timetable(dag), restriction(dag)
    info = table.next_run(interval_of(table, latest_automated(runs)), limits, now)
    taken = {run.logical_date for run in runs}
    for _ in range(len(taken)):  # a run already at that logical date: the scheduler moves past it
        if info is None or info.logical_date not in taken:
            break
        info = table.next_run(info.interval, limits, now)
    return info


def active(runs: list[DagRun]) -> int:
    """Queued and running runs: what `max_active_runs` bounds when runs are created."""
    return sum(1 for run in runs if run.state in RUN_UNFINISHED)


def create(state: State, dag: Dag, info: RunInfo) -> DagRun | None:
    """The scheduled run of `info`, queued, with its task instances; None when the DAG already has a
    run at that logical date (the scheduler skips it)."""
    if any(run.logical_date == info.logical_date for run in state.dag_runs.of_dag(dag.dag_id)):
        return None
    run = DagRun(dag_id=dag.dag_id, dag_run_id=f"{SCHEDULED}__{info.logical_date.isoformat()}",
                 logical_date=info.logical_date, run_type=SCHEDULED, external_trigger=False,
                 data_interval_start=info.interval.start, data_interval_end=info.interval.end,
                 id=state.next_id("dag_runs"))
    if (run.dag_id, run.dag_run_id) in state.dag_runs:
        return None
    state.dag_runs.insert(run)
    create_task_instances(state, dag, run)
    return run


def show_next(state: State, dag: Dag, info: RunInfo | None) -> None:
    """The DAG's `next_dagrun*` fields (`calculate_dagrun_date_fields`)."""
    values = (None, None, None, None) if info is None else (
        info.logical_date, info.interval.start, info.interval.end, info.run_after)
    for name, value in zip(_NEXT_FIELDS, values, strict=True):
        _put(state, dag, name, iso(value))


def show_full(state: State, dag: Dag) -> None:
    """At `max_active_runs` the scheduler clears `next_dagrun_create_after` and keeps the rest."""
    _put(state, dag, "next_dagrun_create_after", None)


def _put(state: State, dag: Dag, name: str, value: str | None) -> None:
    if dag.wire.get(name) != value:
        state.changes.put(dag.wire, name, value)
