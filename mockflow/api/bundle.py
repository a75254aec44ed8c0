"""The Airflow 2.5.3 v1 bundle: its spec, handlers, permission table, audited events and texts."""

from __future__ import annotations

import functools

from mockflow.api import (
    config,
    connections,
    dag_runs,
    dag_warnings,
    dags,
    datasets,
    event_logs,
    import_errors,
    monitoring,
    permissions,
    plugins,
    pools,
    providers,
    roles,
    task_instances,
    users,
    variables,
    xcom,
)
from mockflow.api.access import PUBLIC_OPERATIONS, REQUIRED
from mockflow.api.errors import TEXTS
from mockflow.bundle import Bundle, handlers_of
from mockflow.pipeline import AIRFLOW_STEPS
from mockflow.spec import AIRFLOW_2_5_3, load_spec

HANDLER_MODULES = (monitoring, config, plugins, providers, import_errors, dag_warnings, event_logs, permissions,
                   pools, variables, connections, users, roles, dags, dag_runs, task_instances, xcom, datasets)

# Calls that write an event-log row, and the row's `event` (behaviour reference 0.12).
AUDITED_EVENTS = {
    "post_connection": "connection.create",
    "patch_connection": "connection.edit",
    "delete_connection": "connection.delete",
    "post_variables": "variable.create",
    "patch_variable": "variable.edit",
    "delete_variable": "variable.delete",
    "post_dag_run": "dag_run.create",
}


@functools.cache
def airflow_v1() -> Bundle:
    """Built once per process: every app shares it (and the routes and validators keyed by it)."""
    spec = load_spec(AIRFLOW_2_5_3)
    return Bundle(
        name="airflow-2.5.3-v1",
        spec=spec,
        handlers=handlers_of(HANDLER_MODULES, set(spec.operations)),
        steps=AIRFLOW_STEPS,
        permissions=REQUIRED,
        public_operations=PUBLIC_OPERATIONS,
        audited_events=AUDITED_EVENTS,
        texts=TEXTS,
        path_parameters=frozenset({"variable_key", "uri"}),
    )
