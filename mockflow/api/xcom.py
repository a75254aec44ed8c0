"""XCom entries: get_xcom_entries and get_xcom_entry."""

from __future__ import annotations

from mockflow.api.context import Call
from mockflow.api.shapes.xcom import entry_to_wire, item_to_wire
from mockflow.auth import DAGS, READ
from mockflow.pagination import page
from mockflow.store import xcom as store
from mockflow.store.state import JSON


def get_xcom_entries(call: Call) -> JSON:
    dag_id, run_id, task_id = call.path["dag_id"], call.path["dag_run_id"], call.path["task_id"]
    if dag_id != "~":
        dag_ids: list[str] | None = [dag_id]
    elif call.caller.can(READ, DAGS):
        dag_ids = None
    else:  # `~` lists only the DAGs the caller may read
        dag_ids = call.caller.dag_filter(READ, call.state.dags)
    rows = store.select(call.state, dag_ids, None if run_id == "~" else run_id, None if task_id == "~" else task_id)
    return {"xcom_entries": [item_to_wire(call.state, entry) for entry in page(rows, call.query)],
            "total_entries": len(rows)}


def get_xcom_entry(call: Call) -> JSON:
    # `deserialize` changes nothing visible: both ways the value is the str() of the stored object.
    entry = store.find(call.state, call.path["dag_id"], call.path["dag_run_id"], call.path["task_id"],
                       call.path["xcom_key"])
    return entry_to_wire(call.state, entry)
