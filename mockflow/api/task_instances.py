"""Task instances, their logs and extra links: get_task_instances, get_task_instances_batch,
get_task_instance, get_mapped_task_instance, get_mapped_task_instances, patch_task_instance,
patch_mapped_task_instance, set_task_instance_note, set_mapped_task_instance_note,
post_clear_task_instances, post_set_task_instances_state, get_extra_links, get_log."""

from __future__ import annotations

from typing import Any

from mockflow.api.bodies import load_errors
from mockflow.api.context import Call, Reply
from mockflow.api.negotiation import best_match
from mockflow.problems import BadRequest
from mockflow.store import task_changes, task_logs
from mockflow.store import task_instances as store
from mockflow.store.records import TaskInstance
from mockflow.store.state import JSON

BATCH_FIELDS = ("page_offset", "page_limit", "dag_ids", "execution_date_gte", "execution_date_lte", "start_date_gte",
                "start_date_lte", "end_date_gte", "end_date_lte", "duration_gte", "duration_lte", "state", "pool",
                "queue")
TEXT, JSON_TYPE = "text/plain", "application/json"


def get_task_instances(call: Call) -> JSON:
    # Not filtered by DAG-level permissions, and the limit is unchecked (0: nothing, < 0: all).
    dag_id, run_id = call.path["dag_id"], call.path["dag_run_id"]
    runs = store.candidate_runs(call.state, None if dag_id == "~" else [dag_id], None if run_id == "~" else run_id,
                                call.query)
    total, rows = store.select(call.state, runs, call.query, *_unchecked_page(call.query))
    return _collection(call, rows, total)


def get_task_instances_batch(call: Call) -> JSON:
    body = call.body
    error = load_errors(body, BATCH_FIELDS)
    if error is not None:
        raise BadRequest(error)
    filters = dict(body)
    for name in ("duration_gte", "duration_lte"):  # marshmallow Int fields: fractions are cut off
        if filters.get(name) is not None:
            filters[name] = int(filters[name])
    runs = store.candidate_runs(call.state, body.get("dag_ids") or None, None, filters)
    total, rows = store.select(call.state, runs, filters, 0, None)  # paging fields are ignored
    return _collection(call, rows, total)


def get_task_instance(call: Call) -> JSON:
    return store.ti_to_wire(call.state, store.get_one(call.state, *_ti_path(call), None))


def get_mapped_task_instance(call: Call) -> JSON:
    return store.ti_to_wire(call.state, store.get_one(call.state, *_ti_path(call), call.path["map_index"]))


def get_mapped_task_instances(call: Call) -> JSON:
    rows = store.mapped_rows(call.state, *_ti_path(call))
    run = call.state.dag_runs.get((call.path["dag_id"], call.path["dag_run_id"]))
    if rows and run is not None and not store.candidate_runs(call.state, [run.dag_id], run.dag_run_id, call.query):
        rows = []
    predicate = store.ti_predicate(call.query)
    matched = [ti for ti in rows if predicate is None or predicate(ti)]
    ordered = store.order_mapped(matched, call.query.get("order_by"))
    offset, limit = _unchecked_page(call.query)
    return _collection(call, ordered[offset:None if limit is None else offset + limit], len(matched))


def patch_task_instance(call: Call) -> JSON:
    return task_changes.patch_one(call.state, *_ti_path(call), -1, call.body, call.now)


def patch_mapped_task_instance(call: Call) -> JSON:
    return task_changes.patch_one(call.state, *_ti_path(call), call.path["map_index"], call.body, call.now)


def set_task_instance_note(call: Call) -> JSON:
    return store.ti_to_wire(call.state, store.set_note(call.state, *_ti_path(call), -1, call.body))


def set_mapped_task_instance_note(call: Call) -> JSON:
    ti = store.set_note(call.state, *_ti_path(call), call.path["map_index"], call.body)
    return store.ti_to_wire(call.state, ti)


def post_clear_task_instances(call: Call) -> JSON:
    return task_changes.clear_from_form(call.state, call.path["dag_id"], call.body, call.now)


def post_set_task_instances_state(call: Call) -> JSON:
    return task_changes.set_state_from_form(call.state, call.path["dag_id"], call.body, call.now)


def get_extra_links(call: Call) -> JSON:
    return task_logs.extra_links(call.state, *_ti_path(call))


def get_log(call: Call) -> Reply:
    source = call.clock.random
    metadata = task_logs.metadata_from(call.query.get("token"), call.query.get("full_content"), source)
    ti = task_logs.find_ti(call.state, *_ti_path(call), call.query.get("map_index", -1))
    logs, metadata = task_logs.read_chunk(call.state, ti, call.path["task_try_number"], metadata)
    # JSON unless the client prefers text; no or an unknown Accept header gives JSON too.
    if best_match(call.accepts(), (TEXT, JSON_TYPE)) == TEXT:
        return Reply(body=task_logs.as_text(logs), content_type=TEXT, validate=False)
    return Reply(body=task_logs.as_json(logs, metadata, source))


# --- helpers ------------------------------------------------------------------------------------------

def _ti_path(call: Call) -> tuple[str, str, str]:
    return call.path["dag_id"], call.path["dag_run_id"], call.path["task_id"]


def _unchecked_page(query: dict[str, Any]) -> tuple[int, int | None]:
    limit = query.get("limit", 100)
    return int(query.get("offset") or 0), None if limit is None or limit < 0 else limit


def _collection(call: Call, rows: list[TaskInstance], total: int) -> JSON:
    return {"task_instances": [store.ti_to_wire(call.state, ti) for ti in rows], "total_entries": total}
