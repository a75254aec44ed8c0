"""The store at a glance, as the inspector page (`GET /_mockflow/`) shows it: DAGs with their
latest runs and a grid of task-instance states, pools with slot use, variables and connections
with their secrets masked the way Airflow 2.5.3's UI masks them."""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from mockflow.api.shapes.connections import masked_extra
from mockflow.api.shapes.pools import pool_to_wire
from mockflow.store.pools import all_slot_usage, pools_by_id
from mockflow.store.records import Connection, Dag, DagRun, TaskInstance, Variable
from mockflow.store.secrets import is_sensitive
from mockflow.store.state import JSON, State
from mockflow.wire import iso

# Airflow's grid shows a mapped task as the first of its expansions' states in this order
# (airflow/www/utils.py `priority` in 2.5.3); None is "no status".
MAPPED_PRIORITY: tuple[str | None, ...] = (
    "failed", "upstream_failed", "up_for_retry", "up_for_reschedule", "queued", "scheduled", "deferred",
    "running", "shutdown", "restarting", None, "success", "skipped", "removed",
)
HIDDEN_VARIABLE = "*" * 8  # the variable list's `hidden_field_formatter`
HIDDEN_PASSWORD = "***"  # the secrets masker's replacement


def overview(state: State, runs_per_dag: int) -> JSON:
    """DAGs by id, pools by id, variables and connections in table order."""
    usage = all_slot_usage(state)
    return {
        "dags": [_dag(state, dag, runs_per_dag) for dag in sorted(state.dags.values(), key=lambda d: d.dag_id)],
        "pools": [pool_to_wire(state, pool, usage) for pool in pools_by_id(state)],
        "variables": [_variable(variable) for variable in state.variables.values()],
        "connections": [_connection(conn) for conn in state.connections.values()],
    }


def latest_runs(runs: Iterable[DagRun], count: int) -> list[DagRun]:
    """The `count` latest runs by logical date, oldest first (the grid's left-to-right order)."""
    return sorted(heapq.nlargest(count, runs, key=_run_order), key=_run_order)


def _run_order(run: DagRun) -> tuple[object, int]:
    return run.logical_date, run.id


def grid_state(states: list[str | None]) -> str | None:
    """One cell of the grid: a plain task's state, or a mapped task's summary state."""
    return next((state for state in MAPPED_PRIORITY if state in states), None)


def _dag(state: State, dag: Dag, runs_per_dag: int) -> JSON:
    runs = latest_runs(state.dag_runs.of_dag(dag.dag_id), runs_per_dag)
    return {"dag_id": dag.dag_id, "is_paused": dag.is_paused, "is_active": dag.is_active,
            "tasks": list(dag.tasks), "total_runs": len(state.dag_runs.of_dag(dag.dag_id)),
            "runs": [_run(run, state.task_instances.of_run(run.dag_id, run.dag_run_id).values()) for run in runs]}


def _run(run: DagRun, instances: Iterable[TaskInstance]) -> JSON:
    by_task: dict[str, list[str | None]] = {}
    mapped: dict[str, int] = {}
    for ti in instances:
        by_task.setdefault(ti.task_id, []).append(ti.state)
        if ti.map_index >= 0:
            mapped[ti.task_id] = mapped.get(ti.task_id, 0) + 1
    return {"dag_run_id": run.dag_run_id, "run_type": run.run_type, "state": run.state,
            "logical_date": iso(run.logical_date), "start_date": iso(run.start_date), "end_date": iso(run.end_date),
            "task_states": {task_id: grid_state(states) for task_id, states in by_task.items()},
            "mapped": mapped}


def _variable(variable: Variable) -> JSON:
    hidden = is_sensitive(variable.key)
    return {"key": variable.key, "value": HIDDEN_VARIABLE if hidden else variable.value,
            "description": variable.description, "masked": hidden}


def _connection(conn: Connection) -> JSON:
    return {"connection_id": conn.connection_id, "conn_type": conn.conn_type, "description": conn.description,
            "host": conn.host, "login": conn.login, "schema": conn.schema, "port": conn.port,
            "password": HIDDEN_PASSWORD if conn.password else None, "extra": masked_extra(conn.extra)}
