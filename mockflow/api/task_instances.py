"""Task instances, their logs and extra links: get_task_instances, get_task_instances_batch,
get_task_instance, get_mapped_task_instance, get_mapped_task_instances, patch_task_instance,
patch_mapped_task_instance, set_task_instance_note, set_mapped_task_instance_note,
post_clear_task_instances, post_set_task_instances_state, get_extra_links, get_log."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from mockflow.api.bodies import MISSING, UNKNOWN, load_errors
from mockflow.api.context import Call, Reply
from mockflow.api.negotiation import best_match
from mockflow.api.shapes import task_logs as log_shapes
from mockflow.api.shapes.task_instances import reference_to_wire, references, ti_to_wire
from mockflow.problems import BadRequest
from mockflow.store import task_changes, task_logs, ti_selection
from mockflow.store import task_instances as store
from mockflow.store.records import TaskInstance
from mockflow.store.state import JSON
from mockflow.store.task_changes import ClearRequest, SetStateRequest

BATCH_FIELDS = ("page_offset", "page_limit", "dag_ids", "execution_date_gte", "execution_date_lte", "start_date_gte",
                "start_date_lte", "end_date_gte", "end_date_lte", "duration_gte", "duration_lte", "state", "pool",
                "queue")
TEXT, JSON_TYPE = "text/plain", "application/json"


def get_task_instances(call: Call) -> JSON:
    # Not filtered by DAG-level permissions, and the limit is unchecked (0: nothing, < 0: all).
    dag_id, run_id = call.path["dag_id"], call.path["dag_run_id"]
    runs = ti_selection.candidate_runs(call.state, None if dag_id == "~" else [dag_id],
                                       None if run_id == "~" else run_id, call.query)
    order = ti_selection.scan_order(dag_id != "~", run_id != "~", call.query)
    total, rows = ti_selection.select(call.state, runs, call.query, *_unchecked_page(call.query), order)
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
    runs = ti_selection.candidate_runs(call.state, body.get("dag_ids") or None, None, filters)
    order = ti_selection.scan_order(bool(body.get("dag_ids")), False, filters)
    total, rows = ti_selection.select(call.state, runs, filters, 0, None, order)  # paging fields are ignored
    return _collection(call, rows, total)


def get_task_instance(call: Call) -> JSON:
    return ti_to_wire(call.state, store.get_one(call.state, *_ti_path(call), None))


def get_mapped_task_instance(call: Call) -> JSON:
    return ti_to_wire(call.state, store.get_one(call.state, *_ti_path(call), call.path["map_index"]))


def get_mapped_task_instances(call: Call) -> JSON:
    rows = store.mapped_rows(call.state, *_ti_path(call))
    run = call.state.dag_runs.get((call.path["dag_id"], call.path["dag_run_id"]))
    if rows and run is not None and not ti_selection.candidate_runs(call.state, [run.dag_id], run.dag_run_id,
                                                                    call.query):
        rows = []
    predicate = ti_selection.ti_predicate(call.query)
    matched = [ti for ti in rows if predicate is None or predicate(ti)]
    order_by = call.query.get("order_by")
    if order_by not in store.MAPPED_ORDERS:
        raise BadRequest(f"Ordering with '{order_by}' is not supported")
    ordered = store.order_mapped(matched, order_by)
    offset, limit = _unchecked_page(call.query)
    return _collection(call, ordered[offset:None if limit is None else offset + limit], len(matched))


def patch_task_instance(call: Call) -> JSON:
    return _patch(call, -1)


def patch_mapped_task_instance(call: Call) -> JSON:
    return _patch(call, call.path["map_index"])


def set_task_instance_note(call: Call) -> JSON:
    return _set_note(call, -1)


def set_mapped_task_instance_note(call: Call) -> JSON:
    return _set_note(call, call.path["map_index"])


def post_clear_task_instances(call: Call) -> JSON:
    chosen = task_changes.clear_from_form(call.state, call.path["dag_id"], clear_request(call.body), call.now)
    return references(call.state, chosen)


def post_set_task_instances_state(call: Call) -> JSON:
    form = set_state_request(call.body)
    return references(call.state, task_changes.set_state_from_form(call.state, call.path["dag_id"], form,
                                                                         call.now))


def get_extra_links(call: Call) -> JSON:
    return log_shapes.extra_links_to_wire(call.state, *task_logs.link_task_instance(call.state, *_ti_path(call)))


def get_log(call: Call) -> Reply:
    source = call.clock.random
    metadata = log_shapes.metadata_from(call.query.get("token"), call.query.get("full_content"), source)
    ti = task_logs.find_ti(call.state, *_ti_path(call), call.query.get("map_index", -1))
    logs, metadata = task_logs.read_chunk(call.state, ti, call.path["task_try_number"], metadata)
    # JSON unless the client prefers text; no or an unknown Accept header gives JSON too.
    if best_match(call.accepts(), (TEXT, JSON_TYPE)) == TEXT:
        return Reply(body=log_shapes.as_text(logs), content_type=TEXT, validate=False)
    return Reply(body=log_shapes.as_json(logs, metadata, source))


# --- helpers ------------------------------------------------------------------------------------------

NOTE_LENGTH = 1000


def _patch(call: Call, map_index: int) -> JSON:
    """Dry run: the reference of the task instance; otherwise `{}`."""
    new_state, dry_run = patch_form(call.body)
    ti = task_changes.patch_one(call.state, *_ti_path(call), map_index, new_state, dry_run=dry_run, now=call.now)
    return reference_to_wire(call.state, ti) if dry_run else {}  # Airflow dumps a list with an object schema


def _set_note(call: Call, map_index: int) -> JSON:
    body = call.body
    errors: dict[str, list[str]] = {}
    note = body.get("note")
    if isinstance(note, str) and len(note) > NOTE_LENGTH:
        errors["note"] = [f"Longer than maximum length {NOTE_LENGTH}."]
    if "map_index" in body and (not isinstance(body["map_index"], int) or isinstance(body["map_index"], bool)):
        errors["map_index"] = ["Not a valid integer."]
    for name in sorted(set(body) - {"note", "map_index"}):
        errors[name] = [UNKNOWN]
    if errors:
        raise BadRequest(str(errors))
    return ti_to_wire(call.state, store.set_note(call.state, *_ti_path(call), map_index, note))


def _ti_path(call: Call) -> tuple[str, str, str]:
    return call.path["dag_id"], call.path["dag_run_id"], call.path["task_id"]


def _unchecked_page(query: dict[str, Any]) -> tuple[int, int | None]:
    limit = query.get("limit", 100)
    return int(query.get("offset") or 0), None if limit is None or limit < 0 else limit


def _collection(call: Call, rows: list[TaskInstance], total: int) -> JSON:
    return {"task_instances": [ti_to_wire(call.state, ti) for ti in rows], "total_entries": total}


# --- forms (the marshmallow stage of the changing endpoints) ---------------------------------------

_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|z|[+-]\d{2}:?\d{2})?$")

CLEAR_FIELDS = ("dry_run", "start_date", "end_date", "only_failed", "only_running", "include_subdags",
                "include_parentdag", "reset_dag_runs", "task_ids", "dag_run_id", "include_upstream",
                "include_downstream", "include_future", "include_past")
SET_STATE_FIELDS = ("dry_run", "task_id", "execution_date", "dag_run_id", "include_upstream", "include_downstream",
                    "include_future", "include_past", "new_state")
SET_STATE_REQUIRED = ("task_id", "include_upstream", "include_downstream", "include_future", "include_past",
                      "new_state")


def load_form(body: Mapping[str, Any], fields: Sequence[str], *, required: Sequence[str] = (),
              datetimes: Sequence[str] = ()) -> dict[str, Any]:
    """A marshmallow-like load: declared order, datetimes parsed (naive ones refused at once, as
    Airflow's `validate_istimezone` does), missing required and unknown fields reported together."""
    errors: dict[str, list[str]] = {}
    loaded: dict[str, Any] = {}
    for name in fields:
        if name not in body:
            if name in required:
                errors[name] = [MISSING]
            continue
        value = body[name]
        if name in datetimes and value is not None:
            if not isinstance(value, str) or not _ISO_DATETIME.match(value.strip()):
                errors[name] = ["Not a valid datetime."]
                continue
            value = _aware(value)
        loaded[name] = value
    for name in sorted(set(body) - set(fields)):
        errors[name] = [UNKNOWN]
    if errors:
        raise BadRequest(str(errors))
    return loaded


def _aware(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        raise BadRequest("Naive datetime is disallowed", title="Invalid datetime format")
    return value


def _schema_error(message: str) -> BadRequest:
    return BadRequest(str({"_schema": [message]}))


def _require_dry_run(form: Mapping[str, Any]) -> bool:
    if "dry_run" not in form:  # the real server crashes (KeyError, 500 HTML); docs/differences.md
        raise BadRequest(str({"dry_run": [MISSING]}))
    return bool(form["dry_run"])


def clear_request(body: Mapping[str, Any]) -> ClearRequest:
    form = load_form(body, CLEAR_FIELDS, datetimes=("start_date", "end_date"))
    start, end, run_id = form.get("start_date"), form.get("end_date"), form.get("dag_run_id")
    if form.get("only_failed", True) and form.get("only_running", False):
        raise _schema_error("only_failed and only_running both are set to True")
    if start and end and start > end:
        raise _schema_error("end_date is sooner than start_date")
    if start and end and run_id:
        raise _schema_error("Exactly one of dag_run_id or (start_date and end_date) must be provided")
    if start and run_id:
        raise _schema_error("Exactly one of dag_run_id or start_date must be provided")
    if end and run_id:
        raise _schema_error("Exactly one of dag_run_id or end_date must be provided")
    return ClearRequest(
        dry_run=bool(form.get("dry_run", True)), start_date=start, end_date=end,
        only_failed=bool(form.get("only_failed", True)), only_running=bool(form.get("only_running", False)),
        reset_dag_runs=bool(form.get("reset_dag_runs")), task_ids=form.get("task_ids"), dag_run_id=run_id,
        include_upstream=bool(form.get("include_upstream")), include_downstream=bool(form.get("include_downstream")),
        include_future=bool(form.get("include_future")), include_past=bool(form.get("include_past")))


def set_state_request(body: Mapping[str, Any]) -> SetStateRequest:
    form = load_form(body, SET_STATE_FIELDS, required=SET_STATE_REQUIRED, datetimes=("execution_date",))
    if (form.get("execution_date") is None) == (form.get("dag_run_id") is None):
        raise _schema_error("Exactly one of execution_date or dag_run_id must be provided")
    return SetStateRequest(
        task_id=form["task_id"], new_state=form["new_state"], dry_run=_require_dry_run(form),
        include_upstream=form["include_upstream"], include_downstream=form["include_downstream"],
        include_future=form["include_future"], include_past=form["include_past"],
        execution_date=form.get("execution_date"), dag_run_id=form.get("dag_run_id"))


def patch_form(body: Mapping[str, Any]) -> tuple[str, bool]:
    """(new_state, dry_run) of a PATCH of one task instance."""
    form = load_form(body, ("dry_run", "new_state"), required=("new_state",))
    return form["new_state"], _require_dry_run(form)
