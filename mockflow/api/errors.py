"""Airflow 2.5.3's words for the store's domain errors: status, title and detail per rule.

`TEXTS` maps a domain error's `code` to the real server's detail and title, as `str.format`
templates over the error's facts. An operation whose real handler words the same rule its own
way has an entry `"<code>@<operationId>"`, which wins over the plain one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mockflow.problems import USE_DEFAULT, AlreadyExists, ApiError, BadRequest, NotFound
from mockflow.store.errors import AlreadyExistsError, ConflictError, DomainError, InvalidInputError, NotFoundError


@dataclass(frozen=True, slots=True)
class Text:
    detail: str | None  # a template over the facts; None sends `"detail": null`, as Airflow does
    title: str | None = None  # None keeps the problem class's default title


TEXTS: dict[str, Text] = {
    # --- pools, variables, connections, users, roles, xcom, meta
    "pool_not_found": Text("Pool with name:'{name}' not found"),
    "pool_exists": Text("Pool: {name} already exists"),
    "default_pool_rename": Text("Default Pool's name can't be modified"),
    "default_pool_delete": Text("Default Pool can't be deleted"),
    "pool_slots_unlimited": Text("slots -1 (unlimited) is not supported: Airflow 2.5.3 cannot serve such a pool "
                                 "(its open_slots would be infinite)"),
    "pool_name_empty": Text("Pool name cannot be empty"),
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
    "role_name_taken": Text("Role with name {name!r} already exists"),
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


def problem_for(error: DomainError, operation_id: str, texts: Mapping[str, Text] = TEXTS) -> ApiError:
    """The problem Airflow 2.5.3 answers for `error` raised while serving `operation_id`."""
    text = texts.get(f"{error.code}@{operation_id}") or texts.get(error.code)
    problem_class = next((cls for kind, cls in _CLASSES.items() if isinstance(error, kind)), BadRequest)
    if text is None:
        # A rule without words is a mockflow bug, but the client still deserves the right status.
        return problem_class(f"{error.code}: {error.facts!r}")
    detail = None if text.detail is None else text.detail.format(**error.facts)
    title = USE_DEFAULT if text.title is None else text.title.format(**error.facts)
    return problem_class(detail, title=title)
