"""Datasets and dataset events: fixture reading and the references between datasets and DAGs.

A dataset knows which DAGs are scheduled on it (`consuming_dags`) and which tasks produce it
(`producing_tasks`). Both come from `datasets` fixture items and from the DAG files
(`x-mockflow.dataset_triggers`, a task's `x-mockflow.outlets`); `reflect_dag` keeps the two
sides in step when a DAG is loaded, and `forget_dags` drops a deleted DAG's references (the
datasets themselves stay, as on Airflow).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from mockflow.store.records import Dag, Dataset, DatasetEvent, DatasetReference
from mockflow.store.state import State

# What a fixture item without timestamps gets (fixtures have no clock; any fixed instant will do).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --- references between datasets and DAGs ----------------------------------------------------------

def dataset_by_uri(state: State, uri: str) -> Dataset | None:
    return next((dataset for dataset in state.datasets.values() if dataset.uri == uri), None)


def ensure_dataset(state: State, uri: str, when: datetime) -> Dataset:
    """The dataset with this URI, created (as the DAG processor does) when a DAG names an unknown one."""
    dataset = dataset_by_uri(state, uri)
    if dataset is None:
        dataset = Dataset(id=state.next_id("datasets"), uri=uri, created_at=when, updated_at=when)
        state.changes.put(state.datasets, dataset.id, dataset)
    return dataset


def reflect_dag(state: State, dag: Dag, when: datetime | None = None) -> None:
    """Makes the DAG's declared triggers and outlets, and the datasets' references to it, agree."""
    for uri in dag.dataset_triggers:
        dataset = ensure_dataset(state, uri, when or EPOCH)
        if dag.dag_id not in dataset.consuming_dags:
            state.changes.put(dataset.consuming_dags, dag.dag_id, _new_reference(dataset, when))
    for task in dag.tasks.values():
        for uri in task.outlets:
            dataset = ensure_dataset(state, uri, when or EPOCH)
            if (dag.dag_id, task.task_id) not in dataset.producing_tasks:
                state.changes.put(dataset.producing_tasks, (dag.dag_id, task.task_id), _new_reference(dataset, when))
    datasets = sorted(state.datasets.values(), key=lambda d: d.id)
    state.changes.set(dag, dataset_triggers=[d.uri for d in datasets if dag.dag_id in d.consuming_dags])
    for task in dag.tasks.values():
        state.changes.set(task, outlets=[d.uri for d in datasets if (dag.dag_id, task.task_id) in d.producing_tasks])


def _new_reference(dataset: Dataset, when: datetime | None) -> DatasetReference:
    instant = when or dataset.created_at or EPOCH
    return DatasetReference(created_at=instant, updated_at=instant)


def forget_dags(state: State, dag_ids: Iterable[str]) -> None:
    """Drops every reference to these DAGs (deleting a DAG keeps its datasets and their events)."""
    gone = set(dag_ids)
    for dataset in state.datasets.values():
        state.changes.set(dataset, consuming_dags={k: v for k, v in dataset.consuming_dags.items() if k not in gone},
                          producing_tasks={k: v for k, v in dataset.producing_tasks.items() if k[0] not in gone})
    for event in state.dataset_events.values():
        # The runs an event created are deleted with their DAG, and so is the association row.
        state.changes.set(event, created_dagruns=[run for run in event.created_dagruns if run[0] not in gone])


# --- queries ------------------------------------------------------------------------------------

EVENT_FILTERS = ("dataset_id", "source_dag_id", "source_task_id", "source_run_id", "source_map_index")


def filter_events(state: State, query: Mapping[str, Any]) -> list[DatasetEvent]:
    """Exact filters; like Airflow, a falsy value (0, empty string) filters nothing."""
    rows = list(state.dataset_events.values())
    for name in EVENT_FILTERS:
        wanted = query.get(name)
        if wanted:
            rows = [row for row in rows if getattr(row, name) == wanted]
    return rows


# --- events --------------------------------------------------------------------------------------

def record_event(state: State, dataset: Dataset, *, dag_id: str, task_id: str, run_id: str, map_index: int,
                 when: datetime) -> DatasetEvent:
    """What a producing task's success writes: one event on its outlet dataset."""
    event = DatasetEvent(id=state.next_id("dataset_events"), dataset_id=dataset.id, timestamp=when,
                         source_dag_id=dag_id, source_task_id=task_id, source_run_id=run_id,
                         source_map_index=map_index)
    state.changes.put(state.dataset_events, event.id, event)
    return event


def link_run(state: State, event: DatasetEvent, run_key: tuple[str, str]) -> None:
    """The event took part in creating that (dataset-triggered) run."""
    if run_key not in event.created_dagruns:
        state.changes.set(event, created_dagruns=[*event.created_dagruns, run_key])
