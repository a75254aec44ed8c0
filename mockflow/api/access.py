"""What each Airflow 2.5.3 operation requires, as measured on the real server (behaviour
reference, 0.3 and per operation): the v1 bundle's permission table."""

from __future__ import annotations

from collections.abc import Mapping

from mockflow.auth import CREATE, DAGS, DELETE, EDIT, READ, Permission

PUBLIC_OPERATIONS = frozenset({"get_health", "get_version"})

_DAG_RUN_READ = ((READ, DAGS), (READ, "DAG Runs"))
_TI_READ = (*_DAG_RUN_READ, (READ, "Task Instances"))
_TI_EDIT = ((EDIT, DAGS), (READ, "DAG Runs"), (EDIT, "Task Instances"))


def _crud(resource: str, names: Mapping[str, str]) -> dict[str, tuple[Permission, ...]]:
    return {operation: ((action, resource),) for operation, action in names.items()}


REQUIRED: dict[str, tuple[Permission, ...]] = {
    "get_config": ((READ, "Configurations"),),
    "get_plugins": ((READ, "Plugins"),),
    "get_providers": ((READ, "Providers"),),
    "get_import_errors": ((READ, "ImportError"),),
    "get_import_error": ((READ, "ImportError"),),
    "get_dag_warnings": ((READ, "DAG Warnings"),),
    "get_event_logs": ((READ, "Audit Logs"),),
    "get_event_log": ((READ, "Audit Logs"),),
    "get_permissions": ((READ, "Permissions"),),
    "get_datasets": ((READ, "Datasets"),),
    "get_dataset": ((READ, "Datasets"),),
    "get_dataset_events": ((READ, "Datasets"),),
    "get_dag_source": ((READ, "DAG Code"),),
    **_crud("Pools", {"get_pools": READ, "get_pool": READ, "post_pool": CREATE, "patch_pool": EDIT,
                      "delete_pool": DELETE}),
    **_crud("Variables", {"get_variables": READ, "get_variable": READ, "post_variables": CREATE,
                          "patch_variable": EDIT, "delete_variable": DELETE}),
    **_crud("Connections", {"get_connections": READ, "get_connection": READ, "post_connection": CREATE,
                            "patch_connection": EDIT, "delete_connection": DELETE, "test_connection": CREATE}),
    **_crud("Users", {"get_users": READ, "get_user": READ, "post_user": CREATE, "patch_user": EDIT,
                      "delete_user": DELETE}),
    **_crud("Roles", {"get_roles": READ, "get_role": READ, "post_role": CREATE, "patch_role": EDIT,
                      "delete_role": DELETE}),
    "get_dags": ((READ, DAGS),),
    "get_dag": ((READ, DAGS),),
    "get_dag_details": ((READ, DAGS),),
    "patch_dags": ((EDIT, DAGS),),
    "patch_dag": ((EDIT, DAGS),),
    "delete_dag": ((DELETE, DAGS),),
    "get_tasks": ((READ, DAGS), (READ, "Task Instances")),
    "get_task": ((READ, DAGS), (READ, "Task Instances")),
    "get_dag_runs": _DAG_RUN_READ,
    "get_dag_runs_batch": _DAG_RUN_READ,
    "get_dag_run": _DAG_RUN_READ,
    "post_dag_run": ((EDIT, DAGS), (CREATE, "DAG Runs")),
    "delete_dag_run": ((EDIT, DAGS), (DELETE, "DAG Runs")),
    "update_dag_run_state": ((READ, DAGS), (EDIT, "DAG Runs")),
    "clear_dag_run": ((READ, DAGS), (EDIT, "DAG Runs")),
    "set_dag_run_note": ((READ, DAGS), (EDIT, "DAG Runs")),
    "get_upstream_dataset_events": (*_DAG_RUN_READ, (READ, "Datasets")),
    "get_task_instances": _TI_READ,
    "get_task_instances_batch": _TI_READ,
    "get_task_instance": _TI_READ,
    "get_mapped_task_instance": _TI_READ,
    "get_mapped_task_instances": _TI_READ,
    "get_extra_links": _TI_READ,
    "get_log": _TI_READ,
    "get_xcom_entries": (*_TI_READ, (READ, "XComs")),
    "get_xcom_entry": (*_TI_READ, (READ, "XComs")),
    "patch_task_instance": _TI_EDIT,
    "patch_mapped_task_instance": _TI_EDIT,
    "post_clear_task_instances": _TI_EDIT,
    "post_set_task_instances_state": _TI_EDIT,
    "set_task_instance_note": (*_TI_EDIT, (READ, DAGS)),
    "set_mapped_task_instance_note": (*_TI_EDIT, (READ, DAGS)),
}
