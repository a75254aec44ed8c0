"""The store's rules for pools, variables, connections, users, roles and XCom raise domain errors
that name the rule and carry its ids, and the v1 bundle words each of them as Airflow 2.5.3 does."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from mockflow.api.errors import TEXTS, problem_for
from mockflow.problems import AlreadyExists, ApiError, BadRequest, NotFound
from mockflow.store import connections, pools, roles, users, variables, xcom
from mockflow.store.builtins import ensure_builtins
from mockflow.store.errors import AlreadyExistsError, DomainError, InvalidInputError, NotFoundError
from mockflow.store.records import Connection, DagRun, User, Variable, XCom
from mockflow.store.state import State

NOW = datetime(2024, 1, 1, tzinfo=UTC)
DOMAIN_CODES = (
    "pool_not_found", "pool_exists", "default_pool_rename", "default_pool_delete", "pool_slots_unlimited",
    "variable_not_found", "connection_not_found", "connection_exists", "user_not_found",
    "user_exists", "user_exists@patch_user", "user_email_taken", "user_email_taken@patch_user",
    "user_roles_unknown", "user_roles_repeated", "role_not_found", "role_exists",
    "action_not_found", "resource_not_found", "xcom_not_found", "xcom_mapped",
)


def _state() -> State:
    state = State()
    ensure_builtins(state)
    pools.create_pool(state, "etl", 4, None)
    state.variables["color"] = Variable("color", "blue", id=state.next_id("variables"))
    state.connections["db"] = Connection("db", "postgres", id=state.next_id("connections"))
    state.users["ann"] = User("Ann", "ann@example.com", "Ann", "A", roles=["Viewer"], id=state.next_id("users"))
    run = DagRun(dag_id="etl", dag_run_id="r1", logical_date=NOW)
    state.dag_runs.insert(run)
    for map_index in (0, 1):
        state.xcoms[("etl", "r1", "load", map_index, "rows")] = XCom("etl", "r1", "load", "rows", 3, NOW, map_index)
    return state


def _create_user(state: State, username: str = "bob", email: str = "bob@example.com",
                 roles: tuple[str, ...] = ()) -> User:
    return users.create_user(state, username=username, email=email, first_name="B", last_name="B",
                             roles=list(roles), password=None, now=NOW)


# (what raises, error class, code, facts, operation, problem class, title, detail) - texts as before.
CASES: list[tuple[Callable[[State], Any], type[DomainError], str, dict[str, Any], str, type[ApiError],
                  str | None, str | None]] = [
    (lambda s: pools.find_pool(s, "nope"), NotFoundError, "pool_not_found", {"name": "nope"}, "get_pool",
     NotFound, "Not Found", "Pool with name:'nope' not found"),
    (lambda s: pools.create_pool(s, "etl", 1, None), AlreadyExistsError, "pool_exists", {"name": "etl"},
     "post_pool", AlreadyExists, "Conflict", "Pool: etl already exists"),
    (lambda s: pools.update_pool(s, "default_pool", {"name": "x"}), InvalidInputError, "default_pool_rename",
     {"name": "default_pool", "new_name": "x"}, "patch_pool", BadRequest, "Bad Request",
     "Default Pool's name can't be modified"),
    (lambda s: pools.update_pool(s, "etl", {"name": "default_pool"}), AlreadyExistsError, "pool_exists",
     {"name": "default_pool"}, "patch_pool", AlreadyExists, "Conflict", "Pool: default_pool already exists"),
    (lambda s: pools.delete_pool(s, "default_pool"), InvalidInputError, "default_pool_delete",
     {"name": "default_pool"}, "delete_pool", BadRequest, "Bad Request", "Default Pool can't be deleted"),
    (lambda s: pools.create_pool(s, "big", -1, None), InvalidInputError, "pool_slots_unlimited", {"slots": -1},
     "post_pool", BadRequest, "Bad Request",
     "slots -1 (unlimited) is not supported: Airflow 2.5.3 cannot serve such a pool (its open_slots would be "
     "infinite)"),
    (lambda s: variables.find_variable(s, "nope"), NotFoundError, "variable_not_found", {"key": "nope"},
     "get_variable", NotFound, "Variable not found", None),
    (lambda s: variables.update_variable(s, "nope", {"value": "x"}), NotFoundError, "variable_not_found",
     {"key": "nope"}, "patch_variable", NotFound, "Variable not found", None),
    (lambda s: connections.find_connection(s, "nope"), NotFoundError, "connection_not_found",
     {"connection_id": "nope"}, "get_connection", NotFound, "Connection not found",
     "The Connection with connection_id: `nope` was not found"),
    (lambda s: connections.create_connection(s, "db", "http", {}), AlreadyExistsError, "connection_exists",
     {"connection_id": "db"}, "post_connection", AlreadyExists, "Conflict", "Connection already exist. ID: db"),
    (lambda s: users.find_user(s, "nope"), NotFoundError, "user_not_found", {"username": "nope"}, "get_user",
     NotFound, "User not found", "The User with username `nope` was not found"),
    (lambda s: _create_user(s, username="ANN"), AlreadyExistsError, "user_exists", {"username": "ANN"},
     "post_user", AlreadyExists, "Conflict", "Username `ANN` already exists. Use PATCH to update."),
    (lambda s: _create_user(s, email="ann@example.com"), AlreadyExistsError, "user_email_taken",
     {"email": "ann@example.com"}, "post_user", AlreadyExists, "Conflict",
     "The email `ann@example.com` is already taken."),
    (lambda s: users.update_user(s, "admin", {"username": "ann"}), AlreadyExistsError, "user_exists",
     {"username": "ann"}, "patch_user", AlreadyExists, "Conflict", "The username `ann` already exists"),
    (lambda s: users.update_user(s, "admin", {"email": "ann@example.com"}), AlreadyExistsError,
     "user_email_taken", {"email": "ann@example.com"}, "patch_user", AlreadyExists, "Conflict",
     "The email `ann@example.com` already exists"),
    (lambda s: _create_user(s, roles=("Nope", "Op", "Gone")), InvalidInputError, "user_roles_unknown",
     {"roles": ("Nope", "Gone")}, "post_user", BadRequest, "Bad Request", "Unknown roles: 'Nope', 'Gone'"),
    (lambda s: _create_user(s, roles=("Op", "Viewer", "Op")), InvalidInputError, "user_roles_repeated",
     {"username": "bob", "roles": ("Op",)}, "post_user", BadRequest, "Bad Request",
     "Cannot give user `bob` the same role twice: 'Op'"),
    (lambda s: roles.find_role(s, "nope"), NotFoundError, "role_not_found", {"name": "nope"}, "get_role",
     NotFound, "Role not found", "Role with name 'nope' was not found"),
    (lambda s: roles.create_role(s, "Op", []), AlreadyExistsError, "role_exists", {"name": "Op"}, "post_role",
     AlreadyExists, "Conflict", "Role with name 'Op' already exists; please update with the PATCH endpoint"),
    (lambda s: roles.create_role(s, "New", [("can_fly", "DAGs")]), InvalidInputError, "action_not_found",
     {"action": "can_fly"}, "post_role", BadRequest, "Bad Request", "The specified action: 'can_fly' was not found"),
    (lambda s: roles.update_role(s, "Op", None, [("can_read", "Moon")]), InvalidInputError, "resource_not_found",
     {"resource": "Moon"}, "patch_role", BadRequest, "Bad Request",
     "The specified resource: 'Moon' was not found"),
    (lambda s: xcom.find(s, "etl", "r1", "load", "nope"), NotFoundError, "xcom_not_found",
     {"dag_id": "etl", "run_id": "r1", "task_id": "load", "key": "nope"}, "get_xcom_entry", NotFound,
     "XCom entry not found", None),
    (lambda s: xcom.find(s, "etl", "r1", "load", "rows"), InvalidInputError, "xcom_mapped",
     {"dag_id": "etl", "run_id": "r1", "task_id": "load", "key": "rows", "map_indexes": 2}, "get_xcom_entry",
     BadRequest, "XCom entry is mapped",
     "XCom entry 'rows' exists for 2 map indexes of task 'load'; Airflow 2.5.3 cannot choose one"),
]


@pytest.mark.parametrize(("action", "kind", "code", "facts", "operation", "problem", "title", "detail"), CASES,
                         ids=[f"{case[2]}@{case[4]}" for case in CASES])
def test_rule_raises_a_domain_error_worded_as_before(
    action: Callable[[State], Any], kind: type[DomainError], code: str, facts: dict[str, Any], operation: str,
    problem: type[ApiError], title: str | None, detail: str | None,
) -> None:
    with pytest.raises(kind) as raised:
        action(_state())
    assert (raised.value.code, raised.value.facts) == (code, facts)
    answer = problem_for(raised.value, operation, TEXTS)
    assert type(answer) is problem
    assert (answer.title, answer.detail) == (title, detail)


def test_every_code_of_these_domains_is_worded_and_tested() -> None:
    codes = {case[2] for case in CASES}
    overrides = {f"{case[2]}@{case[4]}" for case in CASES} & set(TEXTS)
    assert codes | overrides == set(DOMAIN_CODES)
    assert set(DOMAIN_CODES) <= set(TEXTS)


def test_a_refused_change_changes_nothing() -> None:
    state = _state()
    with pytest.raises(AlreadyExistsError):
        pools.update_pool(state, "etl", {"slots": 9, "name": "default_pool"})
    assert (state.pools["etl"].slots, list(state.pools)) == (4, ["default_pool", "etl"])
    with pytest.raises(InvalidInputError):
        users.update_user(state, "Ann", {"first_name": "Zed", "roles": ["Op", "Op"]})
    assert state.users["ann"].first_name == "Ann"
    with pytest.raises(InvalidInputError):
        roles.update_role(state, "Op", "Brand new", [("can_fly", "DAGs")])
    assert "Op" in state.roles and "Brand new" not in state.roles
