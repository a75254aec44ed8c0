"""The task-instance changes that arrive as forms: clearTaskInstances, updateTaskInstancesState
and the PATCH of one task instance (selection and effects; the API loads the forms)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from mockflow.store.errors import NotFoundError
from mockflow.store.records import Dag, DagRun, TaskInstance
from mockflow.store.state import State
from mockflow.store.states import TI_FAILED
from mockflow.store.task_instances import relatives
from mockflow.store.ti_changes import clear_task_instances, mark, run_tis, sorted_for_clear
from mockflow.store.timetables import kind, on_schedule
from mockflow.values import value_class

# --- clearTaskInstances -----------------------------------------------------------------------------

@value_class(frozen=True, slots=True)
class ClearRequest:
    """What clearTaskInstances asks for, loaded and checked by the API (defaults as Airflow's)."""

    dry_run: bool = True
    start_date: datetime | None = None
    end_date: datetime | None = None
    only_failed: bool = True
    only_running: bool = False
    reset_dag_runs: bool = False
    task_ids: Sequence[str] | None = None
    dag_run_id: str | None = None
    include_upstream: bool = False
    include_downstream: bool = False
    include_future: bool = False
    include_past: bool = False


def clear_selection(state: State, dag: Dag, *, start: datetime | None, end: datetime | None,
                    task_ids: set[str] | None, only_failed: bool, only_running: bool,
                    exclude: frozenset[str] = frozenset()) -> list[TaskInstance]:
    """`DAG.clear(dry_run=True)`: the DAG's TIs whose run's logical date is in [start, end]."""
    rows = []
    for run in state.dag_runs.of_dag(dag.dag_id):
        if (start is not None and run.logical_date < start) or (end is not None and run.logical_date > end):
            continue
        for ti in run_tis(state, run):
            if task_ids is not None and ti.task_id not in task_ids:
                continue
            if ti.task_id in exclude:
                continue
            if only_failed and ti.state not in TI_FAILED:
                continue
            if only_running and ti.state != "running":
                continue
            rows.append(ti)
    return sorted_for_clear(rows)


def clear_from_form(state: State, dag_id: str, form: ClearRequest, now: datetime) -> list[TaskInstance]:
    dag = state.dags.get(dag_id)
    if dag is None:
        raise NotFoundError("dag_not_found", dag_id=dag_id)
    start, end = form.start_date, form.end_date
    if form.dag_run_id is not None:
        run = state.dag_runs.get((dag_id, form.dag_run_id))
        if run is None:
            raise NotFoundError("dag_run_not_found", dag_id=dag_id, dag_run_id=form.dag_run_id)
        start = end = run.logical_date
    if form.include_past:
        start = None
    if form.include_future:
        end = None
    task_ids = _clear_task_ids(dag, form)

    def selection() -> list[TaskInstance]:
        return clear_selection(state, dag, start=start, end=end, task_ids=task_ids,
                               only_failed=form.only_failed, only_running=form.only_running)

    chosen = selection()
    if not form.dry_run:
        clear_task_instances(state, chosen, reset_runs=form.reset_dag_runs, now=now)
        chosen = selection()  # the real server answers by running its query again, after the change
    return chosen


def _clear_task_ids(dag: Dag, form: ClearRequest) -> set[str] | None:
    if form.task_ids is None:
        return None
    task_ids: set[str] = set()
    for task_id in form.task_ids:
        if task_id in dag.tasks:
            task_ids |= relatives(dag, task_id, upstream=form.include_upstream, downstream=form.include_downstream)
        else:
            task_ids.add(task_id)
    return task_ids


# --- updateTaskInstancesState and PATCH of one task instance ---------------------------------------

@value_class(frozen=True, slots=True)
class SetStateRequest:
    """What updateTaskInstancesState asks for, loaded and checked by the API."""

    task_id: str
    new_state: str
    dry_run: bool
    include_upstream: bool
    include_downstream: bool
    include_future: bool
    include_past: bool
    execution_date: datetime | None = None
    dag_run_id: str | None = None


def set_state_from_form(state: State, dag_id: str, form: SetStateRequest, now: datetime) -> list[TaskInstance]:
    dag = state.dags.get(dag_id)
    if dag is None:
        raise NotFoundError("dag_not_found", dag_id=dag_id)
    task_id = form.task_id
    if task_id not in dag.tasks:
        raise NotFoundError("task_not_found", dag_id=dag_id, task_id=task_id)
    run = _run_for_form(state, dag, task_id, form)
    return set_task_state(state, dag, run, task_id, form.new_state, upstream=form.include_upstream,
                          downstream=form.include_downstream, future=form.include_future, past=form.include_past,
                          commit=not form.dry_run, now=now)


def _run_for_form(state: State, dag: Dag, task_id: str, form: SetStateRequest) -> DagRun:
    when = form.execution_date
    if when is not None:
        run = next((r for r in state.dag_runs.of_dag(dag.dag_id) if r.logical_date == when), None)
        if run is None or not any(t == task_id for t, _ in state.task_instances.of_run(dag.dag_id, run.dag_run_id)):
            raise NotFoundError("task_instance_not_found_on_date", dag_id=dag.dag_id, task_id=task_id,
                                execution_date=when)
        return run
    run_id = form.dag_run_id
    assert run_id is not None  # the API requires exactly one of the two
    found = state.dag_runs.get((dag.dag_id, run_id))
    if found is None or (task_id, -1) not in state.task_instances.of_run(dag.dag_id, run_id):
        raise NotFoundError("task_instance_not_found", dag_id=dag.dag_id, dag_run_id=run_id, task_id=task_id,
                            map_index=-1)
    return found


def run_range(state: State, dag: Dag, run: DagRun, *, past: bool, future: bool) -> list[DagRun]:
    """mark_tasks' `get_run_ids`: the run itself, widened to earlier/later runs; for periodic
    schedules only the runs whose logical dates the schedule produces count."""
    if not past and not future:
        return [run]
    runs = sorted(state.dag_runs.of_dag(dag.dag_id), key=lambda r: r.logical_date)
    start = runs[0].logical_date if past else run.logical_date
    end = runs[-1].logical_date if future else run.logical_date
    schedule_kind = kind(dag.schedule_interval)
    if schedule_kind == "once":
        return [run]
    chosen = [r for r in runs if start <= r.logical_date <= end]
    if schedule_kind == "periodic":
        chosen = [r for r in chosen if r.logical_date == start
                  or on_schedule(dag.schedule_interval, r.logical_date, start)]
    return chosen


def set_task_state(state: State, dag: Dag, run: DagRun, task_id: str, new_state: str, *, upstream: bool = False,
                   downstream: bool = False, future: bool = False, past: bool = False, commit: bool,
                   now: datetime, map_index: int | None = None) -> list[TaskInstance]:
    """`DAG.set_task_instance_state`: the TIs that change (or would), then failed TIs downstream
    of the task are cleared so they can run again."""
    task_ids = relatives(dag, task_id, upstream=upstream, downstream=downstream)
    altered = []
    for chosen in run_range(state, dag, run, past=past, future=future):
        for ti in run_tis(state, chosen):
            if ti.task_id not in task_ids or ti.state == new_state:
                continue
            if map_index is not None and ti.task_id == task_id and ti.map_index != map_index:
                continue
            altered.append(ti)
    altered = sorted_for_clear(altered)
    if not commit:
        return altered
    for ti in altered:
        mark(state, ti, new_state, now)
    below = relatives(dag, task_id, upstream=False, downstream=True)
    failed_below = clear_selection(state, dag, start=None if past else run.logical_date,
                                   end=None if future else run.logical_date, task_ids=below, only_failed=True,
                                   only_running=False, exclude=frozenset({task_id}))
    clear_task_instances(state, failed_below, reset_runs=True, now=now)
    return altered


def patch_one(state: State, dag_id: str, run_id: str, task_id: str, map_index: int, new_state: str, *,
              dry_run: bool, now: datetime) -> TaskInstance:
    """PATCH .../taskInstances/{task_id}[/{map_index}]: the task instance, marked unless a dry run."""
    dag = state.dags.get(dag_id)
    if dag is None:
        raise NotFoundError("dag_not_found", dag_id=dag_id)
    if task_id not in dag.tasks:
        raise NotFoundError("task_not_found", dag_id=dag_id, task_id=task_id)
    ti = state.task_instances.of_run(dag_id, run_id).get((task_id, map_index))
    run = state.dag_runs.get((dag_id, run_id))
    if ti is None or run is None:
        raise NotFoundError("task_instance_not_found", dag_id=dag_id, dag_run_id=run_id, task_id=task_id,
                            map_index=map_index)
    if not dry_run:
        set_task_state(state, dag, run, task_id, new_state, commit=True, now=now, map_index=map_index)
    return ti
