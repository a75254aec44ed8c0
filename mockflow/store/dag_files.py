"""Writers of the run and task-instance tables together with their indexes (domain operations).

Fixture loading (`mockflow/fixtureset/dags.py`) adds runs and task instances only through these,
so that a keyed table and its indexes never disagree; task instances enter the store only here.
"""

from __future__ import annotations

import sys

from mockflow.store import ti_index
from mockflow.store.records import DagRun, TaskInstance
from mockflow.store.state import State


def add_dag_run(state: State, run: DagRun) -> None:
    """Stores a run under its key and in its DAG's index."""
    state.dag_runs[(run.dag_id, run.dag_run_id)] = run
    state.runs_by_dag[run.dag_id][run.dag_run_id] = run


def add_task_instance(state: State, ti: TaskInstance) -> None:
    """Stores a task instance under its key and in its run's index (the only way TIs enter the store)."""
    _share_strings(ti)
    state.task_instances[(ti.dag_id, ti.dag_run_id, ti.task_id, ti.map_index)] = ti
    ti_index.add(state, ti)
    state.tis_by_run[(ti.dag_id, ti.dag_run_id)][(ti.task_id, ti.map_index)] = ti


def _share_strings(ti: TaskInstance) -> None:
    # A million task instances repeat a few thousand ids and a handful of states, pools and
    # queues; one shared object per distinct string saves memory and pickles as a reference.
    ti.dag_id, ti.dag_run_id, ti.task_id = sys.intern(ti.dag_id), sys.intern(ti.dag_run_id), sys.intern(ti.task_id)
    ti.pool, ti.queue, ti.unixname, ti.hostname = (sys.intern(ti.pool), sys.intern(ti.queue),
                                                   sys.intern(ti.unixname), sys.intern(ti.hostname))
    if ti.state is not None:
        ti.state = sys.intern(ti.state)
    if ti.operator is not None:
        ti.operator = sys.intern(ti.operator)
