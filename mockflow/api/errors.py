"""Airflow 2.5.3's words for the store's domain errors: status, title and detail per rule.

`TEXTS` maps a domain error's `code` to the real server's detail and title, as `str.format`
templates over the error's facts. An operation whose real handler words the same rule its own
way has an entry `"<code>@<operationId>"`, which wins over the plain one.
"""

from __future__ import annotations

from collections.abc import Mapping

from mockflow.bundle import Text
from mockflow.problems import USE_DEFAULT, AlreadyExists, ApiError, BadRequest, NotFound
from mockflow.store.errors import AlreadyExistsError, ConflictError, DomainError, InvalidInputError, NotFoundError

TEXTS: dict[str, Text] = {
    # --- DAGs, DAG runs, task instances, datasets
    "dag_not_found": Text("DAG with dag_id: '{dag_id}' not found", title="DAG not found"),
    "dag_not_found@delete_dag": Text(None, title="Dag with id: '{dag_id}' not found"),
    "dag_not_found@get_mapped_task_instances": Text(None, title="DAG {dag_id} not found"),
    "dag_not_found@post_clear_task_instances": Text(None, title="Dag id {dag_id} not found"),
    "dag_not_found@post_set_task_instances_state": Text(None, title="Dag ID {dag_id} not found"),
    "dag_not_found@patch_task_instance": Text("DAG {dag_id!r} not found", title="DAG not found"),
    "dag_not_found@patch_mapped_task_instance": Text("DAG {dag_id!r} not found", title="DAG not found"),
    "dag_not_found@get_extra_links": Text('DAG with ID = "{dag_id}" not found', title="DAG not found"),
    "dag_has_import_errors": Text("DAG with dag_id: '{dag_id}' has import errors", title="DAG cannot be triggered"),
    "dag_has_running_tasks": Text("Task instances of dag with id: '{dag_id}' are still running"),
    "dag_params_invalid": Text("Invalid input for param {param}: {value!r} does not match its schema",
                               title="Invalid DAG params"),
    "task_not_found": Text("Task {task_id!r} not found in DAG {dag_id!r}", title="Task not found"),
    "task_not_found@get_mapped_task_instances": Text(None, title="Task id {task_id} not found"),
    "task_not_found@post_set_task_instances_state": Text(None, title="Task ID {task_id} not found"),
    "task_not_found@get_extra_links": Text('Task with ID = "{task_id}" not found', title="Task not found"),
    "task_not_mapped": Text(None, title="Task id {task_id} is not mapped"),
    "task_mapped_extra_links": Text("Task '{task_id}' is mapped: 2.5.3 cannot tell extra links of one of its "
                                    "{count} task instances", title="Task instance is mapped"),
    "dag_run_not_found": Text("DAGRun with DAG ID: '{dag_id}' and DagRun ID: '{dag_run_id}' not found",
                              title="DAGRun not found"),
    "dag_run_not_found@delete_dag_run": Text("DAGRun with DAG ID: '{dag_id}' and DagRun ID: '{dag_run_id}' not found"),
    "dag_run_not_found@update_dag_run_state": Text(None, title="Dag Run id {dag_run_id} not found in dag {dag_id}"),
    "dag_run_not_found@set_dag_run_note": Text(None, title="Dag Run id {dag_run_id} not found in dag {dag_id}"),
    # three spaces before the DAG id: the real server's text
    "dag_run_not_found@clear_dag_run": Text(None, title="Dag Run id {dag_run_id} not found in dag   {dag_id}"),
    "dag_run_not_found@post_clear_task_instances": Text(None,
                                                        title="Dag Run id {dag_run_id} not found in dag {dag_id}"),
    "dag_run_not_found@get_extra_links": Text('DAG Run with ID = "{dag_run_id}" not found', title="DAG Run not found"),
    "dag_run_exists": Text("DAGRun with DAG ID: '{dag_id}' and DAGRun ID: '{dag_run_id}' already exists"),
    # str() of the datetime: ISO format with a space, as the real server prints it
    "dag_run_logical_date_exists": Text("DAGRun with DAG ID: '{dag_id}' and DAGRun logical date: '{logical_date}' "
                                        "already exists"),
    "dag_run_id_reserved": Text("A manual DAG run cannot use ID {dag_run_id!r} since it is reserved for "
                                "{run_type} runs"),
    "task_instance_not_found": Text(None, title="Task instance not found"),
    "task_instance_not_found@get_log": Text(None, title="TaskInstance not found"),
    "task_instance_not_found@set_task_instance_note": Text(
        None, title="Task Instance not found for dag_id={dag_id}, run_id={dag_run_id}, task_id={task_id}"),
    "task_instance_not_found@set_mapped_task_instance_note": Text(
        None, title="Task Instance not found for dag_id={dag_id}, run_id={dag_run_id}, task_id={task_id}"),
    "task_instance_not_found@patch_task_instance": Text(
        "Task instance not found for task {task_id!r} on DAG run with ID {dag_run_id!r}"),
    "task_instance_not_found@patch_mapped_task_instance": Text(
        "Task instance not found for task {task_id!r} on DAG run with ID {dag_run_id!r}"),
    "task_instance_not_found@post_set_task_instances_state": Text(
        "Task instance not found for task {task_id!r} on DAG run with ID {dag_run_id!r}"),
    "task_instance_not_found_on_date": Text(
        "Task instance not found for task {task_id!r} on execution_date {execution_date}"),
    "task_instance_mapped": Text("Task instance is mapped, add the map_index value to the URL",
                                 title="Task instance not found"),
    "log_token_bad_signature": Text(None, title="Bad Signature. Please use only the tokens provided by the API."),
    # --- pools, variables, connections, users, roles, xcom, meta
    "pool_not_found": Text("Pool with name:'{name}' not found"),
    "pool_exists": Text("Pool: {name} already exists"),
    "default_pool_rename": Text("Default Pool's name can't be modified"),
    "default_pool_delete": Text("Default Pool can't be deleted"),
    "pool_slots_unlimited": Text("slots -1 (unlimited) is not supported: Airflow 2.5.3 cannot serve such a pool "
                                 "(its open_slots would be infinite)"),
    "variable_not_found": Text(None, title="Variable not found"),
    "connection_not_found": Text("The Connection with connection_id: `{connection_id}` was not found",
                                 title="Connection not found"),
    "connection_exists": Text("Connection already exist. ID: {connection_id}"),
    "user_not_found": Text("The User with username `{username}` was not found", title="User not found"),
    "user_exists": Text("Username `{username}` already exists. Use PATCH to update."),
    "user_exists@patch_user": Text("The username `{username}` already exists"),
    "user_email_taken": Text("The email `{email}` is already taken."),
    "user_email_taken@patch_user": Text("The email `{email}` already exists"),
    "user_roles_unknown": Text("Unknown roles: {roles:reprs}"),
    "user_roles_repeated": Text("Cannot give user `{username}` the same role twice: {roles:reprs}"),
    "role_not_found": Text("Role with name {name!r} was not found", title="Role not found"),
    "role_exists": Text("Role with name {name!r} already exists; please update with the PATCH endpoint"),
    "action_not_found": Text("The specified action: {action!r} was not found"),
    "resource_not_found": Text("The specified resource: {resource!r} was not found"),
    "xcom_not_found": Text(None, title="XCom entry not found"),
    "xcom_mapped": Text("XCom entry '{key}' exists for {map_indexes} map indexes of task '{task_id}'; "
                        "Airflow 2.5.3 cannot choose one", title="XCom entry is mapped"),
}

_CLASSES: Mapping[type[DomainError], type[ApiError]] = {
    NotFoundError: NotFound,
    AlreadyExistsError: AlreadyExists,
    ConflictError: AlreadyExists,  # Airflow answers 409 AlreadyExists for state conflicts too
    InvalidInputError: BadRequest,
}


def problem_for(error: DomainError, operation_id: str, texts: Mapping[str, Text]) -> ApiError:
    """The problem a bundle with `texts` answers for `error` raised while serving `operation_id`."""
    text = texts.get(f"{error.code}@{operation_id}") or texts.get(error.code)
    problem_class = next((cls for kind, cls in _CLASSES.items() if isinstance(error, kind)), BadRequest)
    if text is None:
        # A rule without words is a mockflow bug, but the client still deserves the right status.
        return problem_class(f"{error.code}: {error.facts!r}")
    detail = None if text.detail is None else text.detail.format(**error.facts)
    title = USE_DEFAULT if text.title is None else text.title.format(**error.facts)
    return problem_class(detail, title=title)
