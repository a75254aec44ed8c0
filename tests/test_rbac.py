"""Access control for every operation of the API, by default role, and DAG-level permissions.

The expectations below are written from the behaviour reference (0.3, and each operation's
"Perm" line), independently of `mockflow.auth.REQUIRED`. Authorisation comes before the handler,
so an operation whose handler is missing (501) still shows whether a role got through: the
status is 403 exactly when the role lacks a permission the operation needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mockflow.api.access import REQUIRED
from mockflow.auth import Caller
from mockflow.spec import load_spec
from mockflow.store.records import Dag, Role
from tests.conftest import FIXTURES, MINIMAL, Client

SECURITY = FIXTURES / "security"
ROLES = ("public", "viewer", "user", "op", "admin")  # users of tests/fixtures/minimal, password = username
PUBLIC, VIEWER, USER, OP, ADMIN = range(-1, 4)  # the lowest default role that gets through

# operationId -> (lowest role allowed, method, path, body, query)
TI = "/dags/d1/dagRuns/r1/taskInstances/t1"
OPERATIONS: dict[str, tuple[int, str, str, Any, dict[str, str]]] = {
    "get_health": (PUBLIC, "GET", "/health", None, {}),
    "get_version": (PUBLIC, "GET", "/version", None, {}),
    "get_config": (OP, "GET", "/config", None, {}),
    "get_plugins": (VIEWER, "GET", "/plugins", None, {}),
    "get_providers": (OP, "GET", "/providers", None, {}),
    "get_import_errors": (VIEWER, "GET", "/importErrors", None, {}),
    "get_import_error": (VIEWER, "GET", "/importErrors/1", None, {}),
    "get_dag_warnings": (VIEWER, "GET", "/dagWarnings", None, {}),
    "get_event_logs": (VIEWER, "GET", "/eventLogs", None, {}),
    "get_event_log": (VIEWER, "GET", "/eventLogs/1", None, {}),
    "get_permissions": (ADMIN, "GET", "/permissions", None, {}),
    "get_datasets": (VIEWER, "GET", "/datasets", None, {}),
    "get_dataset": (VIEWER, "GET", "/datasets/s3%3A%2F%2Fbucket%2Fkey", None, {}),
    "get_dataset_events": (VIEWER, "GET", "/datasets/events", None, {}),
    "get_dag_source": (VIEWER, "GET", "/dagSources/token", None, {}),
    "get_pools": (OP, "GET", "/pools", None, {}),
    "get_pool": (OP, "GET", "/pools/rbac_pool", None, {}),
    "post_pool": (OP, "POST", "/pools", {"name": "rbac_pool", "slots": 1}, {}),
    "patch_pool": (OP, "PATCH", "/pools/rbac_pool", {"name": "rbac_pool", "slots": 2}, {}),
    "delete_pool": (OP, "DELETE", "/pools/rbac_pool", None, {}),
    "get_variables": (OP, "GET", "/variables", None, {}),
    "get_variable": (OP, "GET", "/variables/rbac_var", None, {}),
    "post_variables": (OP, "POST", "/variables", {"key": "rbac_var", "value": "1"}, {}),
    "patch_variable": (OP, "PATCH", "/variables/rbac_var", {"key": "rbac_var", "value": "2"}, {}),
    "delete_variable": (OP, "DELETE", "/variables/rbac_var", None, {}),
    "get_connections": (OP, "GET", "/connections", None, {}),
    "get_connection": (OP, "GET", "/connections/rbac_conn", None, {}),
    "post_connection": (OP, "POST", "/connections", {"connection_id": "rbac_conn", "conn_type": "fs"}, {}),
    "patch_connection": (OP, "PATCH", "/connections/rbac_conn", {"connection_id": "rbac_conn", "conn_type": "fs"},
                         {}),
    "delete_connection": (OP, "DELETE", "/connections/rbac_conn", None, {}),
    "test_connection": (OP, "POST", "/connections/test", {"connection_id": "rbac_conn", "conn_type": "fs"}, {}),
    "get_users": (ADMIN, "GET", "/users", None, {}),
    "get_user": (ADMIN, "GET", "/users/nobody", None, {}),
    "post_user": (ADMIN, "POST", "/users", {"username": "rbac", "email": "rbac@example.com", "first_name": "R",
                                            "last_name": "B"}, {}),
    "patch_user": (ADMIN, "PATCH", "/users/nobody", {"username": "nobody", "email": "n@example.com",
                                                     "first_name": "N", "last_name": "B"}, {}),
    "delete_user": (ADMIN, "DELETE", "/users/nobody", None, {}),
    "get_roles": (ADMIN, "GET", "/roles", None, {}),
    "get_role": (ADMIN, "GET", "/roles/NoRole", None, {}),
    "post_role": (ADMIN, "POST", "/roles", {"name": "RbacRole", "actions": []}, {}),
    "patch_role": (ADMIN, "PATCH", "/roles/NoRole", {"name": "NoRole", "actions": []}, {}),
    "delete_role": (ADMIN, "DELETE", "/roles/NoRole", None, {}),
    "get_dags": (VIEWER, "GET", "/dags", None, {}),
    "get_dag": (VIEWER, "GET", "/dags/d1", None, {}),
    "get_dag_details": (VIEWER, "GET", "/dags/d1/details", None, {}),
    "patch_dags": (USER, "PATCH", "/dags", {"is_paused": True}, {"dag_id_pattern": "nomatch"}),
    "patch_dag": (USER, "PATCH", "/dags/d1", {"is_paused": True}, {}),
    "delete_dag": (USER, "DELETE", "/dags/d1", None, {}),
    "get_tasks": (VIEWER, "GET", "/dags/d1/tasks", None, {}),
    "get_task": (VIEWER, "GET", "/dags/d1/tasks/t1", None, {}),
    "post_clear_task_instances": (USER, "POST", "/dags/d1/clearTaskInstances", {"dry_run": True}, {}),
    "post_set_task_instances_state": (USER, "POST", "/dags/d1/updateTaskInstancesState",
                                      {"dry_run": True, "task_id": "t1", "dag_run_id": "r1", "new_state": "success",
                                       "include_upstream": False, "include_downstream": False,
                                       "include_future": False, "include_past": False},
                                      {}),
    "get_dag_runs": (VIEWER, "GET", "/dags/d1/dagRuns", None, {}),
    "get_dag_runs_batch": (VIEWER, "POST", "/dags/~/dagRuns/list", {}, {}),
    "get_dag_run": (VIEWER, "GET", "/dags/d1/dagRuns/r1", None, {}),
    "post_dag_run": (USER, "POST", "/dags/d1/dagRuns", {"dag_run_id": "r2"}, {}),
    "delete_dag_run": (USER, "DELETE", "/dags/d1/dagRuns/r1", None, {}),
    "update_dag_run_state": (USER, "PATCH", "/dags/d1/dagRuns/r1", {"state": "success"}, {}),
    "clear_dag_run": (USER, "POST", "/dags/d1/dagRuns/r1/clear", {"dry_run": True}, {}),
    "set_dag_run_note": (USER, "PATCH", "/dags/d1/dagRuns/r1/setNote", {"note": "n"}, {}),
    "get_upstream_dataset_events": (VIEWER, "GET", "/dags/d1/dagRuns/r1/upstreamDatasetEvents", None, {}),
    "get_task_instances": (VIEWER, "GET", "/dags/d1/dagRuns/r1/taskInstances", None, {}),
    "get_task_instances_batch": (VIEWER, "POST", "/dags/~/dagRuns/~/taskInstances/list", {}, {}),
    "get_task_instance": (VIEWER, "GET", TI, None, {}),
    "get_mapped_task_instance": (VIEWER, "GET", TI + "/0", None, {}),
    "get_mapped_task_instances": (VIEWER, "GET", TI + "/listMapped", None, {}),
    "patch_task_instance": (USER, "PATCH", TI, {"dry_run": True, "new_state": "success"}, {}),
    "patch_mapped_task_instance": (USER, "PATCH", TI + "/0", {"dry_run": True, "new_state": "success"}, {}),
    "set_task_instance_note": (USER, "PATCH", TI + "/setNote", {"note": "n"}, {}),
    "set_mapped_task_instance_note": (USER, "PATCH", TI + "/0/setNote", {"note": "n"}, {}),
    "get_extra_links": (VIEWER, "GET", TI + "/links", None, {}),
    "get_log": (VIEWER, "GET", TI + "/logs/1", None, {}),
    "get_xcom_entries": (VIEWER, "GET", TI + "/xcomEntries", None, {}),
    "get_xcom_entry": (VIEWER, "GET", TI + "/xcomEntries/k", None, {}),
}


def test_the_table_covers_every_operation_of_the_spec() -> None:
    assert set(OPERATIONS) == set(load_spec().operations)
    assert len(OPERATIONS) == 73
    assert set(REQUIRED) | {"get_health", "get_version"} == set(OPERATIONS)


def call(client: Client, operation: str, auth: tuple[str, str] | None) -> Any:
    _, method, path, body, query = OPERATIONS[operation]
    kwargs: dict[str, Any] = {"params": query, "headers": {"accept": "application/json"}}
    if body is not None:
        kwargs["json"] = body
    if auth is not None:
        kwargs["auth"] = auth
    return client.request(method, "/api/v1" + path, **kwargs)


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_default_roles(make_client: Callable[..., Client], operation: str) -> None:
    lowest = OPERATIONS[operation][0]
    for rank, role in enumerate(ROLES, start=PUBLIC):
        client = make_client(MINIMAL, auth=None, expose_config=True)
        response = call(client, operation, (role, role))
        allowed = rank >= lowest
        assert (response.status_code != 403) == allowed, (role, response.status_code, response.text)
        # (a spec-level 400 would come before authorisation and show as "allowed" for Public too)
        assert response.status_code != 401, (role, response.text)
        if not allowed:
            assert response.json()["title"] == "Forbidden" and response.json()["detail"] is None


@pytest.mark.parametrize("operation", sorted(set(OPERATIONS) - {"get_health", "get_version"}))
def test_every_protected_operation_needs_credentials(make_client: Callable[..., Client], operation: str) -> None:
    client = make_client(MINIMAL, auth=None, expose_config=True)
    assert call(client, operation, None).status_code == 401
    assert call(client, operation, ("admin", "wrong")).status_code == 401


def test_a_role_without_permissions_reaches_nothing(make_client: Callable[..., Client]) -> None:
    client = make_client(MINIMAL)
    client.post("/api/v1/roles", json={"name": "Empty", "actions": []})
    client.post("/api/v1/users", json={"username": "empty", "email": "e@x.io", "first_name": "E", "last_name": "M",
                                       "password": "pw", "roles": [{"name": "Empty"}]})
    for operation in sorted(set(OPERATIONS) - {"get_health", "get_version"}):
        assert call(client, operation, ("empty", "pw")).status_code == 403, operation


# --- DAG-level permissions --------------------------------------------------------------------

@pytest.fixture
def sec(make_client: Callable[..., Client]) -> Client:
    return make_client(SECURITY, auth=None)


READER, EDITOR = ("etl_reader", "r3ad"), ("etl_editor", "ed1t")


@pytest.mark.parametrize(("who", "method", "path", "body", "allowed"), [
    (READER, "GET", "/dags/etl_daily", None, True),
    (READER, "GET", "/dags/reports", None, False),
    (READER, "GET", "/dags/etl_daily/dagRuns", None, True),
    (READER, "GET", "/dags/reports/dagRuns", None, False),
    (READER, "GET", "/dags/~/dagRuns", None, True),  # some DAG is enough
    (READER, "GET", "/dags", None, True),
    (READER, "GET", "/dags/etl_daily/dagRuns/r/taskInstances", None, True),
    (READER, "PATCH", "/dags/etl_daily", {"is_paused": True}, False),
    (READER, "PATCH", "/dags", {"is_paused": True}, False),
    (READER, "GET", "/dags/unknown_dag", None, False),
    (EDITOR, "PATCH", "/dags/etl_daily", {"is_paused": True}, True),
    (EDITOR, "PATCH", "/dags/reports", {"is_paused": True}, False),
    (EDITOR, "PATCH", "/dags", {"is_paused": True}, True),
    (EDITOR, "POST", "/dags/etl_daily/dagRuns", {"dag_run_id": "x"}, True),
    (EDITOR, "POST", "/dags/reports/dagRuns", {"dag_run_id": "x"}, False),
    (EDITOR, "DELETE", "/dags/etl_daily", None, False),  # no can_delete on the DAG
    (EDITOR, "GET", "/dags/etl_daily/dagRuns/r/taskInstances", None, False),  # no Task Instances read
    (("parent_reader", "p4rent"), "GET", "/dags/warehouse", None, True),
])
def test_dag_level_permissions(sec: Client, who: tuple[str, str], method: str, path: str, body: Any,
                               allowed: bool) -> None:
    kwargs: dict[str, Any] = {"auth": who}
    if body is not None:
        kwargs["json"] = body
    if method == "PATCH" and path == "/dags":
        kwargs["params"] = {"dag_id_pattern": "etl"}
    status = sec.request(method, "/api/v1" + path, **kwargs).status_code
    assert (status != 403) == allowed, status


def test_get_tasks_with_dag_and_task_instance_read(sec: Client) -> None:
    # EtlReader holds DAG:etl_daily read and Task Instances read: that is all get_tasks needs
    assert sec.get("/api/v1/dags/etl_daily/tasks", auth=READER).status_code != 403


def test_subdags_follow_their_root_dag(sec: Client) -> None:
    state = sec.app.store.state
    state.dags["warehouse.rebuild"] = Dag("warehouse.rebuild", "/opt/airflow/dags/warehouse.py", is_subdag=True,
                                          root_dag_id="warehouse")
    who = ("parent_reader", "p4rent")
    assert sec.get("/api/v1/dags/warehouse.rebuild", auth=who).status_code != 403
    assert sec.get("/api/v1/dags/etl_daily", auth=who).status_code == 403
    assert sec.get("/api/v1/dags/missing.child", auth=who).status_code == 403


def test_permission_on_a_vanished_dag_reaches_no_dag(sec: Client) -> None:
    state = sec.app.store.state
    state.roles["EtlReader"].permissions = [("can_read", "DAG:retired"), ("can_read", "DAG Runs")]
    assert sec.get("/api/v1/dags/~/dagRuns", auth=READER).status_code == 403
    assert sec.get("/api/v1/dags", auth=READER).status_code == 403


def test_dag_level_role_created_through_the_api(sec: Client) -> None:
    admin = ("admin", "admin")
    grant = {"action": {"name": "can_read"}, "resource": {"name": "DAG:reports"}}
    assert sec.post("/api/v1/roles", json={"name": "ReportReader", "actions": [grant]}, auth=admin).status_code == 200
    sec.post("/api/v1/users", auth=admin, json={"username": "rr", "email": "rr@x.io", "first_name": "R",
                                                "last_name": "R", "password": "pw",
                                                "roles": [{"name": "ReportReader"}]})
    assert sec.get("/api/v1/dags/reports", auth=("rr", "pw")).status_code != 403
    assert sec.get("/api/v1/dags/etl_daily", auth=("rr", "pw")).status_code == 403
    assert sec.get("/api/v1/pools", auth=("rr", "pw")).status_code == 403
    # a grant added later applies to the very next request
    pools = {"action": {"name": "can_read"}, "resource": {"name": "Pools"}}
    sec.patch("/api/v1/roles/ReportReader", json={"name": "ReportReader", "actions": [pools]}, auth=admin)
    assert sec.get("/api/v1/pools", auth=("rr", "pw")).status_code == 200
    sec.delete("/api/v1/roles/ReportReader", auth=admin)
    assert sec.get("/api/v1/pools", auth=("rr", "pw")).status_code == 403


def test_user_role_change_applies_to_the_next_request(sec: Client) -> None:
    admin = ("admin", "admin")
    assert sec.get("/api/v1/pools", auth=READER).status_code == 403
    sec.patch("/api/v1/users/etl_reader", params={"update_mask": "roles"}, auth=admin,
              json={"username": "etl_reader", "email": "reader@example.com", "first_name": "Eve",
                    "last_name": "Reader", "roles": [{"name": "Op"}]})
    assert sec.get("/api/v1/pools", auth=READER).status_code == 200


# --- Caller helpers for list filtering --------------------------------------------------------

def test_caller_dag_filters() -> None:
    caller = Caller("u", frozenset({("can_read", "DAG:a"), ("can_edit", "DAG:b"), ("can_read", "Pools")}))
    assert caller.dag_filter("can_read", ["a", "b", "c"]) == ["a"]
    assert caller.dag_filter("can_edit", ["a", "b", "c"]) == ["b"]
    assert caller.visible_dag_ids(["c", "b", "a"]) == ["b", "a"]
    assert caller.can_on_dag("can_read", "a") and not caller.can_on_dag("can_read", "b")
    assert caller.can_on_some_dag("can_read") and caller.can_on_some_dag("can_read", ["a"])
    assert not caller.can_on_some_dag("can_read", ["b", "c"])
    assert not caller.can_on_some_dag("can_delete")
    everyone = Caller("v", frozenset({("can_read", "DAGs")}))
    assert everyone.dag_filter("can_read", ["x", "y"]) == ["x", "y"]
    assert everyone.visible_dag_ids(["x"]) == ["x"] and everyone.dag_filter("can_edit", ["x"]) == []


def test_default_roles_fixture_set_loads_airflows_ids(make_client: Callable[..., Client]) -> None:
    state = make_client(SECURITY).app.store.state
    assert [(r.name, r.id) for r in state.roles.values()][:5] == [
        ("Admin", 1), ("Public", 2), ("Viewer", 3), ("User", 4), ("Op", 5)]
    assert isinstance(state.roles["Admin"], Role)
