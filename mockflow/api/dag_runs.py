"""DAG runs: get_dag_runs, get_dag_runs_batch, get_dag_run, post_dag_run, update_dag_run_state,
clear_dag_run, set_dag_run_note, delete_dag_run, get_upstream_dataset_events."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mockflow.api.bodies import MISSING, load_errors
from mockflow.api.context import NO_CONTENT, Call, Reply
from mockflow.api.shapes.dag_runs import dag_run_to_wire
from mockflow.api.shapes.datasets import dataset_event_to_wire
from mockflow.api.shapes.task_instances import references
from mockflow.auth import DAGS, READ, Caller
from mockflow.pagination import page_limit
from mockflow.problems import BadRequest
from mockflow.store import dag_runs as store
from mockflow.store.records import DagRun
from mockflow.store.state import JSON, State
from mockflow.wire import parse_datetime

BATCH_FIELDS = ("order_by", "page_offset", "page_limit", "dag_ids", "states", "execution_date_gte",
                "execution_date_lte", "start_date_gte", "start_date_lte", "end_date_gte", "end_date_lte")
POST_FIELDS = ("dag_run_id", "logical_date", "execution_date", "conf", "note")
NOTE_LENGTH = 1000


def get_dag_runs(call: Call) -> JSON:
    dag_id = call.path["dag_id"]
    dag_ids = _readable(call.caller, call.state) if dag_id == "~" else [dag_id]
    _check_order(call.query.get("order_by"))
    total, shown = store.page_runs(call.state, dag_ids, call.query, call.query.get("state"),
                                   call.query.get("order_by"), int(call.query.get("offset") or 0),
                                   page_limit(call.query.get("limit")))
    return _collection(shown, total)


def get_dag_runs_batch(call: Call) -> JSON:
    body = call.body
    error = load_errors(body, BATCH_FIELDS)
    if error is not None:
        raise BadRequest(error)
    readable = _readable(call.caller, call.state)
    dag_ids: list[str] | None = readable
    if body.get("dag_ids"):
        wanted = set(body["dag_ids"])
        pool = call.state.dags if readable is None else readable
        dag_ids = [dag_id for dag_id in pool if dag_id in wanted]
    _check_order(body.get("order_by", "id"))
    total, shown = store.page_runs(call.state, dag_ids, body, body.get("states"), body.get("order_by", "id"),
                                   int(body.get("page_offset") or 0), int(body.get("page_limit") or 100))
    return _collection(shown, total)


def get_dag_run(call: Call) -> JSON:
    return dag_run_to_wire(store.require_run(call.state, call.path["dag_id"], call.path["dag_run_id"]))


def post_dag_run(call: Call) -> JSON:
    dag = store.require_triggerable(call.state, call.path["dag_id"])
    body = call.body
    _check_body(body, POST_FIELDS)
    logical = _logical_date(body, call.now)
    run = store.trigger_dag(call.state, dag, body.get("dag_run_id"), logical, body.get("conf"), body.get("note"))
    return dag_run_to_wire(run, logical)  # the answer echoes the offset the client sent


def update_dag_run_state(call: Call) -> JSON:
    run = _run(call)
    _check_body(call.body, ("state",))
    store.update_state(call.state, run, _required(call.body, "state"), call.now)
    return dag_run_to_wire(run)


def clear_dag_run(call: Call) -> JSON:
    run = _run(call)
    _check_body(call.body, ("dry_run",))
    dry_run = bool(call.body.get("dry_run", True))
    chosen = store.clear_run(call.state, run, dry_run=dry_run, now=call.now)
    return references(call.state, chosen) if dry_run else dag_run_to_wire(run)


def set_dag_run_note(call: Call) -> JSON:
    run = _run(call)
    error = load_errors(call.body, ("note",), max_lengths={"note": NOTE_LENGTH})
    if error is not None:
        raise BadRequest(error)
    store.set_note(call.state, run, _required(call.body, "note"))
    return dag_run_to_wire(run)


def delete_dag_run(call: Call) -> Reply:
    store.delete_run(call.state, _run(call))
    return NO_CONTENT


def get_upstream_dataset_events(call: Call) -> JSON:
    run = store.require_run(call.state, call.path["dag_id"], call.path["dag_run_id"])
    events = [dataset_event_to_wire(call.state, event) for event in store.upstream_events(call.state, run)]
    return {"dataset_events": events, "total_entries": len(events)}


# --- helpers ------------------------------------------------------------------------------------------

def _readable(caller: Caller, state: State) -> list[str] | None:
    """The DAGs a `~` list may show (None: all of them, read in one pass over all runs)."""
    if caller.can(READ, DAGS):
        return None
    return caller.dag_filter(READ, state.dags)


def _run(call: Call) -> DagRun:
    return store.require_run(call.state, call.path["dag_id"], call.path["dag_run_id"])


def _check_body(body: Mapping[str, Any], fields: tuple[str, ...]) -> None:
    error = load_errors(body, fields)
    if error is not None:
        raise BadRequest(error)


def _required(body: Mapping[str, Any], name: str) -> Any:
    if name not in body:  # the real server crashes (KeyError, 500 HTML); docs/differences.md
        raise BadRequest(str({name: [MISSING]}))
    return body[name]


def _check_order(order_by: str | None) -> None:
    column = ("id" if order_by is None else order_by).lstrip("-")
    if column not in store.ORDER_COLUMNS:
        raise BadRequest(f"Ordering with '{column}' is disallowed or the attribute does not exist on the model")


def _logical_date(body: Mapping[str, Any], now: datetime) -> datetime:
    """`logical_date`, else the deprecated `execution_date`, else now; both given must agree."""
    logical, execution = body.get("logical_date"), body.get("execution_date")
    if "logical_date" in body and "execution_date" in body and logical != execution:
        raise BadRequest(f"{logical!r} != {execution!r}", title="logical_date conflicts with execution_date")
    chosen = logical if "logical_date" in body else execution if "execution_date" in body else None
    if ("logical_date" in body or "execution_date" in body) and chosen is None:
        if "dag_run_id" not in body:  # the id is generated from the date before the body is loaded
            raise BadRequest("Parser must be a string or character stream, not NoneType",
                             title="Incorrect datetime argument")
        raise BadRequest(str({"logical_date": ["Field may not be null."]}))
    if chosen is None:
        return now
    value = parse_datetime(chosen)
    assert value is not None
    return value


def _collection(rows: list[DagRun], total: int) -> JSON:
    return {"dag_runs": [dag_run_to_wire(run) for run in rows], "total_entries": total}
