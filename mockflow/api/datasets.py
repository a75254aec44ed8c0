"""get_datasets, get_dataset and get_dataset_events."""

from __future__ import annotations

from mockflow.api.context import Call
from mockflow.api.shapes.datasets import dataset_event_to_wire, dataset_to_wire
from mockflow.pagination import by_attributes, ordered, page
from mockflow.problems import NotFound
from mockflow.store.dags import like_matcher
from mockflow.store.datasets import dataset_by_uri, filter_events
from mockflow.store.state import JSON

DATASET_ORDER = by_attributes("id", "uri", "created_at", "updated_at")
EVENT_ORDER = by_attributes("source_dag_id", "source_task_id", "source_run_id", "source_map_index", "timestamp")


def get_datasets(call: Call) -> JSON:
    rows = list(call.state.datasets.values())
    total = len(rows)  # the real server counts every dataset, whatever `uri_pattern` says
    pattern = call.query.get("uri_pattern")
    if pattern:
        matches = like_matcher(pattern)
        rows = [row for row in rows if matches(row.uri)]
    rows = ordered(rows, call.query.get("order_by"), DATASET_ORDER, "id")
    return {"datasets": [dataset_to_wire(row) for row in page(rows, call.query)], "total_entries": total}


def get_dataset(call: Call) -> JSON:
    uri = call.path["uri"]
    dataset = dataset_by_uri(call.state, uri)
    if dataset is None:
        raise NotFound(f"The Dataset with uri: `{uri}` was not found", title="Dataset not found")
    return dataset_to_wire(dataset)


def get_dataset_events(call: Call) -> JSON:
    rows = sorted(filter_events(call.state, call.query), key=lambda row: row.id)
    rows = ordered(rows, call.query.get("order_by"), EVENT_ORDER, "timestamp")
    events = [dataset_event_to_wire(call.state, row) for row in page(rows, call.query)]
    return {"dataset_events": events, "total_entries": len(rows)}
