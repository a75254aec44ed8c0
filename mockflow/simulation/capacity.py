"""Whether a scheduled task instance may be queued: its pool has the open slots (`slots` minus
the running and queued ones; -1 is no limit) and its DAG runs fewer than `max_active_tasks`."""

from __future__ import annotations

from mockflow.store.pools import UNLIMITED
from mockflow.store.records import Dag, TaskInstance
from mockflow.store.state import State
from mockflow.store.states import QUEUED, RUNNING

EXECUTING = (RUNNING, QUEUED)  # Airflow's `EXECUTION_STATES`


def pool_occupied(state: State, pool: str) -> int:
    return sum(state.task_instances.pool_slots(pool, s) for s in EXECUTING)  # kept by the table, no scan


def dag_active_tasks(state: State, dag_id: str) -> int:
    return sum(1 for s in EXECUTING for ti in state.task_instances.in_state(s) if ti.dag_id == dag_id)


def has_room(state: State, dag: Dag, ti: TaskInstance) -> bool:
    pool = state.pools.get(ti.pool)
    if pool is None:  # Airflow leaves a task of an unknown pool scheduled
        return False
    if pool.slots != UNLIMITED and pool_occupied(state, ti.pool) + ti.pool_slots > pool.slots:
        return False
    return dag_active_tasks(state, dag.dag_id) < dag.max_active_tasks
