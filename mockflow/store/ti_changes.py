"""How task instances change state: marking, failing or succeeding a whole run, clearing (which
may queue runs again), and removing a run's task instances. All writes go through the tables."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from mockflow.store.records import Dag, DagRun, TaskInstance
from mockflow.store.state import RunKey, State
from mockflow.store.states import (
    DEFERRED,
    FAILED,
    RESTARTING,
    RUN_QUEUED,
    RUNNING,
    SKIPPED,
    SUCCESS,
    TI_ENDS_TRY,
    TI_FINISHED,
    TI_IN_PROGRESS,
    UP_FOR_RESCHEDULE,
)
from mockflow.store.task_instances import priority_weights


def sorted_for_clear(rows: Iterable[TaskInstance]) -> list[TaskInstance]:
    """The order the clear and set-state queries return (the primary key's)."""
    return sorted(rows, key=lambda ti: (ti.task_id, ti.dag_run_id, ti.map_index))


def set_ti_state(state: State, ti: TaskInstance, new_state: str, now: datetime) -> None:
    """`TaskInstance.set_state`: dates stamped when unset, duration from them once finished."""
    table = state.task_instances
    table.set_state(ti, new_state)
    start = ti.start_date or now
    table.update(ti, start_date=start)
    if new_state in TI_ENDS_TRY:
        end = ti.end_date or now
        table.update(ti, end_date=end, duration=(end - start).total_seconds())


def mark(state: State, ti: TaskInstance, new_state: str, now: datetime) -> None:
    """mark_tasks' `set_state`: a deferred or rescheduled try is counted back first."""
    if ti.state in (DEFERRED, UP_FOR_RESCHEDULE):
        state.task_instances.update(ti, try_number=ti.try_number + 1)
    set_ti_state(state, ti, new_state, now)


def run_tis(state: State, run: DagRun) -> Iterable[TaskInstance]:
    return state.task_instances.of_run(run.dag_id, run.dag_run_id).values()


def mark_run_success(state: State, run: DagRun, dag: Dag | None, now: datetime) -> None:
    for ti in run_tis(state, run):
        if ti.state != SUCCESS and (dag is None or ti.task_id in dag.tasks):
            mark(state, ti, SUCCESS, now)


def mark_run_failed(state: State, run: DagRun, dag: Dag | None, now: datetime) -> None:
    """Running tries fail; other unfinished ones are skipped; never-started (NULL) ones stay."""
    for ti in list(run_tis(state, run)):
        if ti.state in TI_IN_PROGRESS and (dag is None or ti.task_id in dag.tasks):
            mark(state, ti, FAILED, now)
        elif ti.state is not None and ti.state not in TI_FINISHED and ti.state not in TI_IN_PROGRESS:
            set_ti_state(state, ti, SKIPPED, now)


def clear_task_instances(state: State, rows: Iterable[TaskInstance], *, reset_runs: bool, now: datetime) -> None:
    """`clear_task_instances`: running tries restart, the rest lose their state and get their
    task's settings and a new retry budget; their runs are queued again when asked."""
    table = state.task_instances
    touched: dict[RunKey, None] = {}
    weights: dict[str, dict[str, int]] = {}
    for ti in rows:
        touched[(ti.dag_id, ti.dag_run_id)] = None
        if ti.state == RUNNING:
            table.set_state(ti, RESTARTING)
            continue
        dag = state.dags.get(ti.dag_id)
        task = dag.tasks.get(ti.task_id) if dag is not None else None
        if dag is not None and task is not None:
            dag_weights = weights.setdefault(dag.dag_id, priority_weights(dag))
            table.update(ti, pool=task.pool, pool_slots=task.pool_slots, queue=task.queue,
                         priority_weight=dag_weights[task.task_id], operator=task.operator_class,
                         max_tries=ti.try_number + task.retries)
        else:
            table.update(ti, max_tries=max(ti.max_tries, ti.try_number))
        table.set_state(ti, None)
    if reset_runs:
        for key in touched:
            run = state.dag_runs.get(key)
            if run is not None:
                reset_run(state, run, now)


def remove_run_task_instances(state: State, run_key: RunKey) -> None:
    """Drops a run's task instances with their XComs and logs (the cascade of a run delete)."""
    dag_id, run_id = run_key
    for ti in list(state.task_instances.of_run(dag_id, run_id).values()):
        state.task_instances.delete(ti)
    for xcom_key in [key for key in state.xcoms if key[0] == dag_id and key[1] == run_id]:
        state.changes.pop(state.xcoms, xcom_key)
    for log_key in [key for key in state.logs if key[0] == dag_id and key[1] == run_id]:
        state.changes.pop(state.logs, log_key)


def reset_run(state: State, run: DagRun, now: datetime) -> None:
    """What clearing does to a run when asked to: queued again, as if never started."""
    state.dag_runs.set_state(run, RUN_QUEUED, now)
    state.dag_runs.update(run, start_date=None, last_scheduling_decision=None)
