"""Reading `dags/<dag_id>` fixture files: the DAG, its tasks, runs, task instances, XComs and logs.

A DAG file is the DAG-details object as `GET /dags/{dag_id}/details` returns it, plus the other
`GET /dags/{dag_id}` fields, `tasks` (as `GET /dags/{dag_id}/tasks` returns them), an optional
`source` and optional `dag_runs` (DAGRun objects, each with optional `task_instances`, each of
those with optional `xcom_entries` and `logs`). Mock-only settings sit under `x-mockflow`.
Runs and task instances enter the store through their tables (`store/tables.py`), which keep the indexes.
"""

from __future__ import annotations

from typing import Any

from mockflow.simulation.scripts import script_part
from mockflow.store.datasets import reflect_dag
from mockflow.store.records import Dag, DagRun, LogChunk, Task, TaskInstance, XCom
from mockflow.store.state import JSON, State
from mockflow.wire import parse_datetime

# DAG fields that have a typed home in `Dag`; everything else stays in `Dag.wire`.
_TYPED_DAG_FIELDS = frozenset({
    "dag_id", "fileloc", "is_paused", "is_active", "is_subdag", "root_dag_id", "description", "owners",
    "tags", "schedule_interval", "timetable_description", "start_date", "end_date", "max_active_tasks",
    "max_active_runs", "has_import_errors", "source", "tasks", "dag_runs", "x-mockflow",
})


def load_dag(state: State, data: Any, source: str) -> None:
    dag = dag_from_wire(data)
    state.dags[dag.dag_id] = dag
    reflect_dag(state, dag, parse_datetime(data.get("last_parsed_time")))
    for run_data in data.get("dag_runs") or []:
        load_dag_run(state, dag, run_data)


def dag_from_wire(data: JSON) -> Dag:
    mock = data.get("x-mockflow") or {}
    tasks = [task_from_wire(item) for item in data.get("tasks") or []]
    return Dag(
        dag_id=data["dag_id"],
        fileloc=data.get("fileloc") or f"/opt/airflow/dags/{data['dag_id']}.py",
        is_paused=_paused(data.get("is_paused", True)),
        is_active=bool(data.get("is_active", True)),
        is_subdag=bool(data.get("is_subdag", False)),
        root_dag_id=data.get("root_dag_id"),
        description=data.get("description"),
        owners=list(data.get("owners") or []),
        tags=[t["name"] if isinstance(t, dict) else str(t) for t in data.get("tags") or []],
        schedule_interval=data.get("schedule_interval"),
        timetable_description=data.get("timetable_description"),
        start_date=parse_datetime(data.get("start_date")),
        end_date=parse_datetime(data.get("end_date")),
        max_active_tasks=int(data.get("max_active_tasks") or 16),
        max_active_runs=int(data.get("max_active_runs") or 16),
        has_import_errors=bool(data.get("has_import_errors", False)),
        source=data.get("source"),
        tasks={task.task_id: task for task in tasks},
        dataset_triggers=list(mock.get("dataset_triggers") or []),
        stored_tag_order=mock.get("stored_tag_order"),
        script=script_part(mock),
        wire={k: v for k, v in data.items() if k not in _TYPED_DAG_FIELDS},
    )


def _paused(value: Any) -> bool | None:
    return None if value is None else bool(value)


def task_from_wire(data: JSON) -> Task:
    mock = data.get("x-mockflow") or {}
    class_ref = data.get("class_ref") or {}
    return Task(
        task_id=data["task_id"],
        downstream_task_ids=list(data.get("downstream_task_ids") or []),
        pool=data.get("pool") or "default_pool",
        pool_slots=int(data.get("pool_slots") or 1),
        queue=data.get("queue") or "default",
        retries=int(data.get("retries") or 0),
        priority_weight=int(data.get("priority_weight") or 1),
        weight_rule=data.get("weight_rule") or "downstream",
        operator_class=(mock.get("operator") or class_ref.get("class_name") or data.get("operator_name")
                        or "BaseOperator"),
        start_date=parse_datetime(data.get("start_date")),
        end_date=parse_datetime(data.get("end_date")),
        is_mapped=bool(data.get("is_mapped", False)),
        map_length=mock.get("map_length"),
        extra_links=list(mock.get("extra_links") or []),
        outlets=list(mock.get("outlets") or []),
        script=script_part(mock),
        wire={k: v for k, v in data.items() if k != "x-mockflow"},
    )


def load_dag_run(state: State, dag: Dag, data: JSON) -> DagRun:
    logical = parse_datetime(data.get("logical_date") or data.get("execution_date"))
    assert logical is not None, "a DAG run needs a logical_date"
    run = DagRun(
        dag_id=dag.dag_id,
        dag_run_id=data["dag_run_id"],
        logical_date=logical,
        run_type=data.get("run_type", "manual"),
        state=data.get("state", "queued"),
        external_trigger=bool(data.get("external_trigger", True)),
        conf=dict(data.get("conf") or {}),
        note=data.get("note"),
        start_date=parse_datetime(data.get("start_date")),
        end_date=parse_datetime(data.get("end_date")),
        data_interval_start=parse_datetime(data.get("data_interval_start")),
        data_interval_end=parse_datetime(data.get("data_interval_end")),
        last_scheduling_decision=parse_datetime(data.get("last_scheduling_decision")),
        id=state.next_id("dag_runs"),
    )
    state.dag_runs.insert(run)
    for ti_data in data.get("task_instances") or []:
        load_task_instance(state, run, ti_data)
    return run


def load_task_instance(state: State, run: DagRun, data: JSON) -> TaskInstance:
    ti = TaskInstance(
        dag_id=run.dag_id,
        dag_run_id=run.dag_run_id,
        task_id=data["task_id"],
        map_index=int(data.get("map_index", -1)),
        state=data.get("state"),
        try_number=int(data.get("try_number") or 0),
        max_tries=int(data.get("max_tries") or 0),
        start_date=parse_datetime(data.get("start_date")),
        end_date=parse_datetime(data.get("end_date")),
        duration=data.get("duration"),
        hostname=data.get("hostname") or "",
        unixname=data.get("unixname") or "airflow",
        pool=data.get("pool") or "default_pool",
        pool_slots=int(data.get("pool_slots") or 1),
        queue=data.get("queue") or "default",
        priority_weight=int(data.get("priority_weight") or 1),
        operator=data.get("operator"),
        queued_when=parse_datetime(data.get("queued_when")),
        pid=data.get("pid"),
        executor_config=data.get("executor_config") or "{}",
        note=data.get("note"),
        rendered_fields=dict(data.get("rendered_fields") or {}),
        id=state.next_id("task_instances"),
    )
    state.task_instances.insert(ti)
    for xcom in data.get("xcom_entries") or []:
        state.xcoms[(ti.dag_id, ti.dag_run_id, ti.task_id, ti.map_index, xcom["key"])] = XCom(
            dag_id=ti.dag_id, dag_run_id=ti.dag_run_id, task_id=ti.task_id, key=xcom["key"],
            value=xcom.get("value"), timestamp=parse_datetime(xcom.get("timestamp")) or run.logical_date,
            map_index=ti.map_index,
        )
    logs = data.get("logs") or []
    if isinstance(logs, dict):  # {try_number: text}
        logs = [{"try_number": int(k), "content": v} for k, v in logs.items()]
    for log in logs:
        try_number = int(log["try_number"])
        state.logs[(ti.dag_id, ti.dag_run_id, ti.task_id, ti.map_index, try_number)] = LogChunk(
            ti.dag_id, ti.dag_run_id, ti.task_id, ti.map_index, try_number, log.get("content", ""))
    return ti
