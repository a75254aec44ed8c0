"""The dataset and dataset-event objects of the v1 API."""

from __future__ import annotations

from mockflow.api.shapes.dag_runs import basic_dag_run_to_wire
from mockflow.store.records import Dataset, DatasetEvent
from mockflow.store.state import JSON, State
from mockflow.wire import iso


def dataset_to_wire(dataset: Dataset) -> JSON:
    return {
        "id": dataset.id,
        "uri": dataset.uri,
        "extra": dataset.extra,
        "created_at": iso(dataset.created_at),
        "updated_at": iso(dataset.updated_at),
        "consuming_dags": [
            {"dag_id": dag_id, "created_at": iso(ref.created_at), "updated_at": iso(ref.updated_at)}
            for dag_id, ref in dataset.consuming_dags.items()
        ],
        "producing_tasks": [
            {"dag_id": dag_id, "task_id": task_id, "created_at": iso(ref.created_at), "updated_at": iso(ref.updated_at)}
            for (dag_id, task_id), ref in dataset.producing_tasks.items()
        ],
    }


def dataset_event_to_wire(state: State, event: DatasetEvent) -> JSON:
    dataset = state.datasets.get(event.dataset_id)
    runs = (state.dag_runs.get(key) for key in event.created_dagruns)
    return {
        "id": event.id,
        "dataset_id": event.dataset_id,
        "dataset_uri": dataset.uri if dataset is not None else "",
        "extra": event.extra,
        "source_dag_id": event.source_dag_id,
        "source_task_id": event.source_task_id,
        "source_run_id": event.source_run_id,
        "source_map_index": event.source_map_index,
        "created_dagruns": [basic_dag_run_to_wire(run) for run in runs if run is not None],
        "timestamp": iso(event.timestamp),
    }
