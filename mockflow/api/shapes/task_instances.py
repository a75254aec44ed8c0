"""The task-instance objects of the v1 API and the references the changing endpoints answer."""

from __future__ import annotations

from collections.abc import Iterable

from mockflow.store.records import TaskInstance
from mockflow.store.state import JSON, State
from mockflow.wire import iso


def ti_to_wire(state: State, ti: TaskInstance) -> JSON:
    run = state.dag_runs.get((ti.dag_id, ti.dag_run_id))
    return {
        "task_id": ti.task_id,
        "dag_id": ti.dag_id,
        "dag_run_id": ti.dag_run_id,
        "map_index": ti.map_index,
        "execution_date": iso(run.logical_date) if run is not None else None,
        "start_date": iso(ti.start_date),
        "end_date": iso(ti.end_date),
        "duration": ti.duration,
        "state": ti.state,
        "try_number": ti.try_number,
        "max_tries": ti.max_tries,
        "hostname": ti.hostname,
        "unixname": ti.unixname,
        "pool": ti.pool,
        "pool_slots": ti.pool_slots,
        "queue": ti.queue,
        "priority_weight": ti.priority_weight,
        "operator": ti.operator,
        "queued_when": iso(ti.queued_when),
        "pid": ti.pid,
        "executor_config": ti.executor_config,
        "note": ti.note,
        "sla_miss": None,
        "rendered_fields": dict(ti.rendered_fields),  # a plain copy: rows may share a read-only one
        "trigger": None,
        "triggerer_job": None,
    }


def reference_to_wire(state: State, ti: TaskInstance) -> JSON:
    run = state.dag_runs.get((ti.dag_id, ti.dag_run_id))
    return {"task_id": ti.task_id, "dag_id": ti.dag_id, "dag_run_id": ti.dag_run_id,
            "execution_date": iso(run.logical_date) if run is not None else None}


def references(state: State, rows: Iterable[TaskInstance]) -> JSON:
    return {"task_instances": [reference_to_wire(state, ti) for ti in rows]}
