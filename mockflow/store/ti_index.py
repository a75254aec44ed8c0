"""The task-instance state index: which task instances are in each state, in creation order.

A list across every DAG filtered by state (`/dags/~/dagRuns/~/taskInstances?state=running`) would
otherwise read a million records to find a few. Every change of a task instance's state, and
every task instance that enters or leaves the store, goes through this module.

Buckets keep creation (`id`) order, which is the order Airflow's lists return. A record moved into
a bucket lands at its end; the bucket is then marked unsorted and put back in order on its next
read, so a burst of changes costs one sort, not one per change.
"""

from __future__ import annotations

from collections.abc import Iterable

from mockflow.store.records import TaskInstance
from mockflow.store.state import State, TaskInstanceKey


def key_of(ti: TaskInstance) -> TaskInstanceKey:
    return (ti.dag_id, ti.dag_run_id, ti.task_id, ti.map_index)


def add(state: State, ti: TaskInstance) -> None:
    bucket = state.tis_by_state[ti.state]
    if bucket and next(reversed(bucket.values())).id > ti.id:
        state.unsorted_states.add(ti.state)
    bucket[key_of(ti)] = ti


def discard(state: State, ti: TaskInstance) -> None:
    bucket = state.tis_by_state.get(ti.state)
    if bucket is not None:
        bucket.pop(key_of(ti), None)


def set_state(state: State, ti: TaskInstance, new_state: str | None) -> None:
    """The one way a stored task instance changes state."""
    if ti.state == new_state:
        return
    discard(state, ti)
    ti.state = new_state
    add(state, ti)


def in_state(state: State, ti_state: str | None) -> Iterable[TaskInstance]:
    """The task instances in one state, in creation order."""
    bucket = state.tis_by_state.get(ti_state)
    if not bucket:
        return ()
    if ti_state in state.unsorted_states:
        state.tis_by_state[ti_state] = bucket = dict(sorted(bucket.items(), key=lambda item: item[1].id))
        state.unsorted_states.discard(ti_state)
    return bucket.values()


def rebuild(state: State) -> None:
    """Recomputes the index from the task-instance table (after a bulk removal)."""
    state.tis_by_state.clear()
    state.unsorted_states.clear()
    for ti in state.task_instances.values():
        state.tis_by_state[ti.state][key_of(ti)] = ti
