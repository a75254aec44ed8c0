"""Task mapping at run time: a mapped task whose length was unknown when the run was created has
one placeholder task instance (map_index -1). When it may run, it is expanded over the length of
its upstream tasks' `return_value` XComs, as `expand_mapped_task` does: one task instance per
element (none: the placeholder is skipped); without such an XCom it runs as it is."""

from __future__ import annotations

import dataclasses
from collections.abc import Sized
from datetime import datetime

from mockflow.store.records import Dag, DagRun, Task, TaskInstance
from mockflow.store.state import State
from mockflow.store.states import SKIPPED


def expansion_length(state: State, dag: Dag, run: DagRun, task: Task) -> int | None:
    lengths = []
    for parent in dag.tasks.values():
        if task.task_id in parent.downstream_task_ids:
            entry = state.xcoms.get((run.dag_id, run.dag_run_id, parent.task_id, -1, "return_value"))
            if entry is not None and isinstance(entry.value, Sized) and not isinstance(entry.value, str):
                lengths.append(len(entry.value))
    return max(lengths) if lengths else None


def expand(state: State, dag: Dag, run: DagRun, ti: TaskInstance, now: datetime) -> bool:
    """Expands the placeholder `ti` when its length is known now; returns whether it did."""
    task = dag.tasks.get(ti.task_id)
    if task is None or not task.is_mapped or ti.map_index != -1:
        return False
    length = expansion_length(state, dag, run, task)
    if length is None:
        return False
    table = state.task_instances
    if length == 0:
        table.set_state(ti, SKIPPED)
        table.update(ti, start_date=now, end_date=now, duration=0.0)
        return True
    table.delete(ti)
    for map_index in range(length):
        table.insert(dataclasses.replace(ti, map_index=map_index, state=None, id=state.next_id("task_instances")))
    return True
