"""DAGs, their tasks and their source files: get_dags, patch_dags, get_dag, patch_dag, delete_dag,
get_dag_details, get_tasks, get_task, get_dag_source."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from mockflow.api.bodies import MISSING, load_errors
from mockflow.api.context import NO_CONTENT, Call, Reply
from mockflow.api.negotiation import best_match
from mockflow.api.shapes.dags import dag_details_to_wire, dag_to_wire, dags_to_wire, task_to_wire
from mockflow.auth import EDIT, READ
from mockflow.pagination import page
from mockflow.problems import BadRequest, NotFound
from mockflow.rendering import Page
from mockflow.store import dags as store
from mockflow.store.records import Dag, Task
from mockflow.store.state import JSON
from mockflow.wire import parse_datetime

TEXT, JSON_TYPE = "text/plain", "application/json"


def get_dags(call: Call) -> JSON:
    # `order_by` is declared but ignored by the real server: always ascending dag_id.
    rows = _select(call, call.caller.dag_filter(READ, call.state.dags), call.query.get("dag_id_pattern"))
    return _collection(call, rows, page(rows, call.query))


def patch_dags(call: Call) -> JSON:
    update_mask = call.query.get("update_mask")
    _check_patch_body(call.body, update_mask)
    pattern = call.query["dag_id_pattern"]
    rows = _select(call, call.caller.dag_filter(EDIT, call.state.dags), "%" if pattern == "~" else pattern)
    chosen = page(rows, call.query)  # only the answered page is changed
    store.set_paused(call.state, chosen, _paused_value(call.body))
    return _collection(call, rows, chosen)


def get_dag(call: Call) -> JSON:
    return dag_to_wire(call.state, _dag(call))


def patch_dag(call: Call) -> JSON:
    _check_patch_body(call.body, call.query.get("update_mask"))
    dag_id = call.path["dag_id"]
    dag = call.state.dags.get(dag_id)
    if dag is None:
        raise NotFound(None, title=f"Dag with id: '{dag_id}' not found")
    store.set_paused(call.state, [dag], _paused_value(call.body))
    return dag_to_wire(call.state, dag)


def delete_dag(call: Call) -> Reply:
    store.delete_dag(call.state, call.path["dag_id"])
    return NO_CONTENT


def get_dag_details(call: Call) -> JSON:
    return dag_details_to_wire(_dag(call))


def get_tasks(call: Call) -> JSON:
    dag = _parsed_dag(call)
    tasks = _order_tasks(dag, call.query.get("order_by"))
    return {"tasks": [task_to_wire(dag, task) for task in tasks], "total_entries": len(tasks)}


def get_task(call: Call) -> JSON:
    dag = _parsed_dag(call)
    task: Task | None = dag.tasks.get(call.path["task_id"])
    if task is None:
        raise NotFound(None, title="Task not found")
    return task_to_wire(dag, task)


def get_dag_source(call: Call) -> Reply:
    # The token is checked before the Accept header is.
    fileloc = store.fileloc_of_token(call.state, call.path["file_token"])
    source = None if fileloc is None else store.dag_source(call.state, fileloc)
    if source is None:
        raise NotFound(None, title="Dag source not found")
    chosen = best_match(call.accepts(), (TEXT, JSON_TYPE))
    if chosen == JSON_TYPE:
        return Reply(body={"content": source})
    if chosen == TEXT:
        return Reply(body=source, content_type=TEXT, validate=False)
    return Reply(status=406, body="Not Allowed Accept Header", content_type="text/html; charset=utf-8",
                 validate=False)


# --- helpers ------------------------------------------------------------------------------------------

def _select(call: Call, visible: list[str], pattern: str | None) -> list[Dag]:
    return store.select_dags(call.state, visible=visible, only_active=call.query.get("only_active", True),
                             dag_id_pattern=pattern, tags=call.query.get("tags"))


def _collection(call: Call, rows: list[Dag], shown: list[Dag]) -> JSON:
    return Page(dags=dags_to_wire(call.state, shown), total_entries=len(rows))


def _dag(call: Call) -> Dag:
    dag_id = call.path["dag_id"]
    dag = call.state.dags.get(dag_id)
    if dag is None:
        raise NotFound(f"The DAG with dag_id: {dag_id} was not found", title="DAG not found")
    return dag


def _parsed_dag(call: Call) -> Dag:
    """The task endpoints read the parsed DAG, and say so in a shorter 404."""
    dag = call.state.dags.get(call.path["dag_id"])
    if dag is None:
        raise NotFound(None, title="DAG not found")
    return dag


# --- PATCH bodies -------------------------------------------------------------------------------------

def _check_patch_body(body: JSON, update_mask: Sequence[str] | None) -> None:
    """The checks the real server makes on a DAG PATCH body before it looks for the DAG(s)."""
    error = load_errors(body, ("is_paused",))
    if error is not None:
        raise BadRequest(error)
    if update_mask:
        if list(update_mask) != ["is_paused"]:
            raise BadRequest("Only `is_paused` field can be updated through the REST API")
        _paused_value(body)


def _paused_value(body: JSON) -> bool | None:
    if "is_paused" not in body:
        # The real server crashes here (KeyError, 500 HTML); docs/differences.md.
        raise BadRequest(str({"is_paused": [MISSING]}))
    value: bool | None = body["is_paused"]
    return value


# --- ordering tasks -------------------------------------------------------------------------------------
# `GET /dags/{dag_id}/tasks?order_by=` sorts by any attribute of the operator objects (Python's
# `sorted` with `attrgetter`). An unknown attribute is a 400 with Python's AttributeError text;
# values Python cannot compare (None, dicts) crash the real server, and are a 400 here.

def _order_tasks(dag: Dag, order_by: str | None) -> list[Task]:
    order_by = "task_id" if order_by is None else order_by
    name = order_by.lstrip("-")
    tasks = list(dag.tasks.values())
    keys = {task.task_id: _task_attribute(dag, task, name) for task in tasks}
    try:
        return sorted(tasks, key=lambda task: keys[task.task_id], reverse=order_by.startswith("-"))
    except TypeError as error:
        raise BadRequest(str(error)) from None


def _task_attribute(dag: Dag, task: Task, dotted: str) -> Any:
    first, *rest = dotted.split(".")
    attributes = _task_attributes(dag, task)
    if first not in attributes:
        owner = "MappedOperator" if task.is_mapped else "SerializedBaseOperator"
        raise BadRequest(f"'{owner}' object has no attribute '{first}'")
    value = attributes[first]
    for part in rest:
        if not hasattr(value, part):
            raise BadRequest(f"'{type(value).__name__}' object has no attribute '{part}'")
        value = getattr(value, part)
    return value


def _task_attributes(dag: Dag, task: Task) -> dict[str, Any]:
    """The task's attributes as Python values (what the real server sorts)."""
    wire = task_to_wire(dag, task)
    values: dict[str, Any] = {name: _python_value(name, value) for name, value in wire.items() if name != "class_ref"}
    values["downstream_task_ids"] = set(task.downstream_task_ids)
    values["template_fields"] = tuple(wire.get("template_fields") or ())
    values.update(
        dag_id=dag.dag_id,
        upstream_task_ids={other.task_id for other in dag.tasks.values() if task.task_id in other.downstream_task_ids},
        label=task.task_id.rsplit(".", 1)[-1],
        task_type=task.operator_class,
        do_xcom_push=True,
        email=None,
        doc_md=None,
        max_active_tis_per_dag=None,
    )
    return values


def _python_value(name: str, value: Any) -> Any:
    if name in ("start_date", "end_date"):
        return parse_datetime(value)
    if isinstance(value, dict) and value.get("__type") == "TimeDelta":
        return timedelta(days=value["days"], seconds=value["seconds"], microseconds=value["microseconds"])
    return value
