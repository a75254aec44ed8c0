"""DAG runs: get_dag_runs, get_dag_runs_batch, get_dag_run, post_dag_run, update_dag_run_state,
clear_dag_run, set_dag_run_note, delete_dag_run, get_upstream_dataset_events."""

from __future__ import annotations

from mockflow.api.bodies import load_errors
from mockflow.api.context import NO_CONTENT, Call, Reply
from mockflow.auth import DAGS, READ, Caller
from mockflow.pagination import page_limit
from mockflow.problems import BadRequest, NotFound
from mockflow.store import dag_runs as store
from mockflow.store.datasets import dataset_event_to_wire
from mockflow.store.records import DagRun
from mockflow.store.state import JSON, State

BATCH_FIELDS = ("order_by", "page_offset", "page_limit", "dag_ids", "states", "execution_date_gte",
                "execution_date_lte", "start_date_gte", "start_date_lte", "end_date_gte", "end_date_lte")


def get_dag_runs(call: Call) -> JSON:
    dag_id = call.path["dag_id"]
    dag_ids = _readable(call.caller, call.state) if dag_id == "~" else [dag_id]
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
    total, shown = store.page_runs(call.state, dag_ids, body, body.get("states"), body.get("order_by", "id"),
                                   int(body.get("page_offset") or 0), int(body.get("page_limit") or 100))
    return _collection(shown, total)


def get_dag_run(call: Call) -> JSON:
    return store.dag_run_to_wire(store.require_run(call.state, call.path["dag_id"], call.path["dag_run_id"]))


def post_dag_run(call: Call) -> JSON:
    run, sent_logical = store.trigger_dag(call.state, call.path["dag_id"], call.body, call.now)
    return store.dag_run_to_wire(run, sent_logical)


def update_dag_run_state(call: Call) -> JSON:
    run = _changing(call, "Dag Run id {run} not found in dag {dag}")
    store.update_state(call.state, run, call.body, call.now)
    return store.dag_run_to_wire(run)


def clear_dag_run(call: Call) -> JSON:
    # Three spaces before the DAG id: the real server's text.
    run = _changing(call, "Dag Run id {run} not found in dag   {dag}")
    result = store.clear_run(call.state, run, call.body, call.now)
    return store.dag_run_to_wire(result) if isinstance(result, DagRun) else result


def set_dag_run_note(call: Call) -> JSON:
    run = _changing(call, "Dag Run id {run} not found in dag {dag}")
    store.set_note(run, call.body)
    return store.dag_run_to_wire(run)


def delete_dag_run(call: Call) -> Reply:
    dag_id, run_id = call.path["dag_id"], call.path["dag_run_id"]
    run = store.find_run(call.state, dag_id, run_id)
    if run is None:
        raise NotFound(f"DAGRun with DAG ID: '{dag_id}' and DagRun ID: '{run_id}' not found")
    store.delete_run(call.state, run)
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


def _changing(call: Call, title: str) -> DagRun:
    dag_id, run_id = call.path["dag_id"], call.path["dag_run_id"]
    return store.require_run(call.state, dag_id, run_id, title=title.format(run=run_id, dag=dag_id))


def _collection(rows: list[DagRun], total: int) -> JSON:
    return {"dag_runs": [store.dag_run_to_wire(run) for run in rows], "total_entries": total}
