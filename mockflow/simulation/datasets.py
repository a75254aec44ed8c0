"""Datasets in the simulation: a producing task's success records an event on each outlet, and a
DAG scheduled on datasets gets a `dataset_triggered` run once every one of its datasets has an
event it has not consumed yet (Airflow's dataset-DAG-run queue, derived from the events)."""

from __future__ import annotations

from datetime import datetime

from mockflow.store.datasets import dataset_by_uri, link_run, record_event
from mockflow.store.records import Dag, DagRun, DatasetEvent, Task, TaskInstance
from mockflow.store.state import State
from mockflow.store.task_instances import create_task_instances

DATASET_TRIGGERED = "dataset_triggered"


def produce(state: State, task: Task, ti: TaskInstance, now: datetime) -> list[DagRun]:
    """Events for the task's outlets; returns the consumer runs they completed."""
    touched: set[int] = set()
    for uri in task.outlets:
        dataset = dataset_by_uri(state, uri)
        if dataset is None:
            continue
        record_event(state, dataset, dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.dag_run_id,
                     map_index=ti.map_index, when=now)
        touched.add(dataset.id)
    created = []
    for dag in list(state.dags.values()):
        consumed = {d.id for uri in dag.dataset_triggers if (d := dataset_by_uri(state, uri)) is not None}
        if consumed & touched and not dag.is_paused and dag.is_active:
            run = _maybe_trigger(state, dag, consumed, now)
            if run is not None:
                created.append(run)
    return created


def _maybe_trigger(state: State, dag: Dag, consumed: set[int], now: datetime) -> DagRun | None:
    pending = _pending_events(state, dag, consumed)
    if not consumed or any(not pending.get(dataset_id) for dataset_id in consumed):
        return None
    events = [event for dataset_events in pending.values() for event in dataset_events]
    sources = [state.dag_runs.get((e.source_dag_id, e.source_run_id)) for e in events
               if e.source_dag_id and e.source_run_id]
    starts = [r.data_interval_start for r in sources if r is not None and r.data_interval_start is not None]
    ends = [r.data_interval_end for r in sources if r is not None and r.data_interval_end is not None]
    run = DagRun(dag_id=dag.dag_id, dag_run_id=f"{DATASET_TRIGGERED}__{now.isoformat()}", logical_date=now,
                 run_type=DATASET_TRIGGERED, external_trigger=False,
                 data_interval_start=min(starts, default=now), data_interval_end=max(ends, default=now),
                 id=state.next_id("dag_runs"))
    if (run.dag_id, run.dag_run_id) in state.dag_runs:
        return None
    state.dag_runs.insert(run)
    create_task_instances(state, dag, run)
    for event in events:
        link_run(state, event, (run.dag_id, run.dag_run_id))
    return run


def _pending_events(state: State, dag: Dag, consumed: set[int]) -> dict[int, list[DatasetEvent]]:
    """Events on the DAG's datasets since its last dataset-triggered run, by dataset."""
    runs = [run for run in state.dag_runs.of_dag(dag.dag_id) if run.run_type == DATASET_TRIGGERED]
    since = max((run.logical_date for run in runs), default=None)
    pending: dict[int, list[DatasetEvent]] = {}
    for event in state.dataset_events.values():
        if event.dataset_id in consumed and (since is None or event.timestamp > since):
            pending.setdefault(event.dataset_id, []).append(event)
    return pending
