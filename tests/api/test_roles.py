"""Roles and permissions: get_roles, get_role, post_role, patch_role, delete_role, get_permissions."""

from __future__ import annotations

from typing import Any

import pytest

from mockflow.store.builtins import DEFAULT_ACTIONS, DEFAULT_ROLES
from tests.conftest import Client

ROLES = "/api/v1/roles"
BY_NAME = ["Admin", "EtlEditor", "EtlReader", "Op", "ParentReader", "PoolKeeper", "Public", "User", "Viewer"]
BY_ID = ["Admin", "Public", "Viewer", "User", "Op", "EtlReader", "EtlEditor", "ParentReader", "PoolKeeper"]


def grant(action: str, resource: str) -> dict[str, Any]:
    return {"action": {"name": action}, "resource": {"name": resource}}


NEW = {"name": "Auditor", "actions": [grant("can_read", "Audit Logs"), grant("can_read", "DAG:reports")]}




def role_names(body: dict[str, Any]) -> list[str]:
    return [role["name"] for role in body["roles"]]


def assert_unchanged(client: Client, method: str, url: str, **kwargs: Any) -> Any:
    before = client.app.store.snapshot()
    response = client.request(method, url, **kwargs)
    assert 400 <= response.status_code < 500, response.text
    assert client.app.store.snapshot() == before
    return response.json()


# --- get_roles / get_role ---------------------------------------------------------------------

def test_list_by_name_with_permissions(open_sec: Client) -> None:
    body = open_sec.get(ROLES).json()
    assert role_names(body) == BY_NAME
    assert body["total_entries"] == len(BY_NAME)
    reader = body["roles"][2]
    assert reader == {"name": "EtlReader", "actions": [
        grant("can_read", "DAG:etl_daily"), grant("can_read", "DAG Runs"), grant("can_read", "Task Instances")]}


@pytest.mark.parametrize(("params", "expected"), [
    ({"order_by": "name"}, BY_NAME),
    ({"order_by": "role_id"}, BY_ID),
    ({"order_by": "role_id", "limit": 2, "offset": 3}, BY_ID[3:5]),
    ({"offset": 8}, BY_NAME[8:]),
    ({"offset": 9}, []),
    ({"limit": 0}, BY_NAME),
])
def test_list_ordering_and_paging(open_sec: Client, params: dict[str, Any], expected: list[str]) -> None:
    body = open_sec.get(ROLES, params=params).json()
    assert role_names(body) == expected and body["total_entries"] == len(BY_NAME)


@pytest.mark.parametrize("order_by", ["-name", "-role_id", "id", "actions", ""])
def test_list_ordering_refused(open_sec: Client, order_by: str) -> None:
    assert open_sec.get(ROLES, params={"order_by": order_by}).json()["detail"] == (
        f"Ordering with '{order_by}' is disallowed or the attribute does not exist on the model")


def test_list_negative_limit(open_sec: Client) -> None:
    assert open_sec.get(ROLES, params={"limit": -1}).json()["title"] == "Page limit must be a positive integer"


def test_default_roles_carry_airflows_permissions(open_sec: Client) -> None:
    viewer = open_sec.get(f"{ROLES}/Viewer").json()
    pairs = {(a["action"]["name"], a["resource"]["name"]) for a in viewer["actions"]}
    assert pairs == set(DEFAULT_ROLES["Viewer"])
    assert ("can_read", "DAGs") in pairs and ("menu_access", "Docs") in pairs and len(pairs) == 31
    assert open_sec.get(f"{ROLES}/Public").json() == {"name": "Public", "actions": []}


@pytest.mark.parametrize("name", ["viewer", "VIEWER", "Nope", "名前"])
def test_get_is_case_sensitive(open_sec: Client, name: str) -> None:
    body = open_sec.get(f"{ROLES}/{name}").json()
    assert (body["status"], body["title"], body["detail"]) == (404, "Role not found",
                                                              f"Role with name '{name}' was not found")


# --- post_role --------------------------------------------------------------------------------

def test_create_answers_an_empty_object(sec: Client) -> None:
    response = sec.post(ROLES, json=NEW)
    assert response.status_code == 200 and response.json() == {}
    assert sec.get(f"{ROLES}/Auditor").json() == NEW
    assert role_names(sec.get(ROLES, params={"order_by": "role_id"}).json())[-1] == "Auditor"


def test_create_skips_empty_items_and_repeats(sec: Client) -> None:
    body = {"name": "Tiny", "actions": [{}, grant("can_read", "Pools"), grant("can_read", "Pools")]}
    assert sec.post(ROLES, json=body).status_code == 200
    assert sec.get(f"{ROLES}/Tiny").json()["actions"] == [grant("can_read", "Pools")]


def test_create_without_permissions_grants_nothing(sec: Client) -> None:
    assert sec.post(ROLES, json={"name": "Nothing", "actions": []}).status_code == 200
    assert sec.get(f"{ROLES}/Nothing").json() == {"name": "Nothing", "actions": []}


@pytest.mark.parametrize(("body", "status", "detail"), [
    ({"name": "Viewer", "actions": [grant("can_fly", "DAGs")]}, 409,
     "Role with name 'Viewer' already exists; please update with the PATCH endpoint"),
    ({"name": "Auditor", "actions": [grant("can_fly", "DAGs")]}, 400, "The specified action: 'can_fly' was not found"),
    ({"name": "Auditor", "actions": [grant("can_read", "Spaceships")]}, 400,
     "The specified resource: 'Spaceships' was not found"),
    ({"name": "Auditor", "actions": [grant("can_read", "DAG:nope")]}, 400,
     "The specified resource: 'DAG:nope' was not found"),
    ({"name": "Auditor", "actions": [grant("can_read", "dags")]}, 400, "The specified resource: 'dags' was not found"),
    ({"name": "Auditor", "actions": [grant("can_read", "Pools"), grant("can_it's", "DAGs")]}, 400,
     "The specified action: \"can_it's\" was not found"),
    ({"name": "Auditor"}, 400, "{'actions': ['Missing data for required field.']}"),
    ({"actions": []}, 400, "{'name': ['Missing data for required field.']}"),
    ({"name": "Auditor", "actions": [], "permissions": []}, 400, "{'permissions': ['Unknown field.']}"),
    ({"name": "R" * 65, "actions": []}, 400, "{'name': ['Longer than maximum length 64.']}"),
    ({"name": "Auditor", "actions": [{"action": {"name": "can_read"}}]}, 400,
     "{'actions': {0: {'resource': ['Missing data for required field.']}}}"),
    ({"name": "Auditor", "actions": [grant("can_read", "Pools"), {"action": {}, "resource": {"name": "DAGs"}}]}, 400,
     "{'actions': {1: {'action': {'name': ['Missing data for required field.']}}}}"),
    ({"name": "Auditor", "actions": [{**grant("can_read", "Pools"), "scope": "all"}]}, 400,
     "{'actions': {0: {'scope': ['Unknown field.']}}}"),
    ({"name": "Auditor", "actions": [grant("a" * 101, "Pools")]}, 400,
     "{'actions': {0: {'action': {'name': ['Longer than maximum length 100.']}}}}"),
    ({"name": "", "actions": []}, 400, "'' is too short - 'name'"),
    ({"name": "Auditor", "actions": {}}, 400, "{} is not of type 'array' - 'actions'"),
    ({"name": 5, "actions": []}, 400, "5 is not of type 'string' - 'name'"),
])
def test_create_refused(open_sec: Client, body: dict[str, Any], status: int, detail: str) -> None:
    problem = assert_unchanged(open_sec, "POST", ROLES, json=body)
    assert (problem["status"], problem["detail"]) == (status, detail)


def test_create_malformed_json(open_sec: Client) -> None:
    problem = assert_unchanged(open_sec, "POST", ROLES, content=b"{", headers={"content-type": "application/json"})
    assert problem["detail"] == "Request body is not valid JSON"


def test_create_unicode_name(sec: Client) -> None:
    assert sec.post(ROLES, json={"name": "Ärzte 👩‍⚕️", "actions": []}).status_code == 200
    assert sec.get(f"{ROLES}/Ärzte 👩‍⚕️").json()["name"] == "Ärzte 👩‍⚕️"


# --- patch_role -------------------------------------------------------------------------------

def test_patch_adds_permissions_never_removes(sec: Client) -> None:
    body = sec.patch(f"{ROLES}/EtlReader", json={"name": "EtlReader", "actions": [
        grant("can_read", "DAG Runs"), grant("can_edit", "DAG:etl_daily")]}).json()
    assert body["actions"] == [grant("can_read", "DAG:etl_daily"), grant("can_read", "DAG Runs"),
                               grant("can_read", "Task Instances"), grant("can_edit", "DAG:etl_daily")]
    assert sec.patch(f"{ROLES}/EtlReader", json={"name": "EtlReader", "actions": []}).json() == body
    assert sec.patch(f"{ROLES}/EtlReader", json={"name": "EtlReader"}).json() == body


def test_patch_rename_follows_users(sec: Client) -> None:
    body = sec.patch(f"{ROLES}/EtlReader", json={"name": "Readers", "actions": [grant("can_read", "Pools")]}).json()
    assert body["name"] == "Readers" and grant("can_read", "Pools") in body["actions"]
    assert sec.get(f"{ROLES}/EtlReader").status_code == 404
    assert sec.get("/api/v1/users/etl_reader").json()["roles"] == [{"name": "Readers"}]
    assert sec.get("/api/v1/pools", auth=("etl_reader", "r3ad")).status_code == 200
    assert role_names(sec.get(ROLES, params={"order_by": "role_id"}).json())[5] == "Readers"


def test_patch_mask_actions_ignores_the_name(sec: Client) -> None:
    body = sec.patch(f"{ROLES}/PoolKeeper", params={"update_mask": "actions"},
                     json={"name": "Other", "actions": [grant("can_edit", "Pools")]}).json()
    assert body["name"] == "PoolKeeper" and body["actions"][-1] == grant("can_edit", "Pools")


def test_patch_mask_name_ignores_the_actions(sec: Client) -> None:
    body = sec.patch(f"{ROLES}/PoolKeeper", params={"update_mask": " name "},
                     json={"name": "Keepers", "actions": [grant("can_fly", "Pools")]}).json()
    assert body == {"name": "Keepers", "actions": [grant("can_read", "Pools"), grant("can_create", "Pools")]}


@pytest.mark.parametrize(("path", "body", "params", "detail"), [
    ("Nope", {"name": "Nope", "actions": []}, {}, "Role with name 'Nope' was not found"),
    ("viewer", {"name": "viewer"}, {}, "Role with name 'viewer' was not found"),
    ("Nope", {"actions": []}, {}, "{'name': ['Missing data for required field.']}"),  # load first
    ("PoolKeeper", {"actions": []}, {"update_mask": "actions"}, "{'name': ['Missing data for required field.']}"),
    ("PoolKeeper", {"name": "PoolKeeper", "actions": []}, {"update_mask": "permissions"},
     "'permissions' in update_mask is unknown"),
    ("PoolKeeper", {"name": "PoolKeeper", "actions": []}, {"update_mask": "name,users"},
     "'users' in update_mask is unknown"),
    ("PoolKeeper", {"name": "PoolKeeper"}, {"update_mask": "actions"},
     "'actions' is in update_mask but missing from the request body"),
    ("PoolKeeper", {"name": "PoolKeeper", "actions": [grant("can_read", "Moon")]}, {},
     "The specified resource: 'Moon' was not found"),
    ("PoolKeeper", {"name": "PoolKeeper", "actions": [grant("can_zap", "Pools")]}, {"update_mask": "actions"},
     "The specified action: 'can_zap' was not found"),
    ("PoolKeeper", {"name": "PoolKeeper", "id": 3}, {}, "{'id': ['Unknown field.']}"),
])
def test_patch_refused(open_sec: Client, path: str, body: dict[str, Any], params: dict[str, str],
                       detail: str) -> None:
    assert assert_unchanged(open_sec, "PATCH", f"{ROLES}/{path}", json=body, params=params)["detail"] == detail


@pytest.mark.parametrize("params", [{}, {"update_mask": "name"}, {"update_mask": "name,actions"}])
def test_patch_rename_onto_an_existing_role_keeps_the_old_name(sec: Client, params: dict[str, str]) -> None:
    # Flask-AppBuilder rolls the rename back and logs it; the other changes stand (real 2.5.3: 200).
    viewer = sec.get(f"{ROLES}/Viewer").json()
    response = sec.patch(f"{ROLES}/PoolKeeper", params=params,
                         json={"name": "Viewer", "actions": [grant("can_delete", "Pools")]})
    assert response.status_code == 200
    assert response.json()["name"] == "PoolKeeper"
    granted = grant("can_delete", "Pools") in response.json()["actions"]
    assert granted == (params.get("update_mask", "actions").find("actions") >= 0)
    assert sec.get(f"{ROLES}/PoolKeeper").json() == response.json()
    assert sec.get(f"{ROLES}/Viewer").json() == viewer


def test_patch_role_change_takes_effect_on_next_request(sec: Client) -> None:
    keeper = ("keeper", "k33p")
    assert sec.delete("/api/v1/pools/default_pool", auth=keeper).status_code == 403
    sec.patch(f"{ROLES}/PoolKeeper", json={"name": "PoolKeeper", "actions": [grant("can_delete", "Pools")]})
    # the permission is there now; the pool handler then refuses for its own reason
    assert sec.delete("/api/v1/pools/default_pool", auth=keeper).status_code == 400


# --- delete_role ------------------------------------------------------------------------------

def test_delete_removes_it_from_users(sec: Client) -> None:
    assert sec.get("/api/v1/pools", auth=("keeper", "k33p")).status_code == 200
    response = sec.delete(f"{ROLES}/PoolKeeper")
    assert response.status_code == 204 and response.content == b""
    assert sec.get(f"{ROLES}/PoolKeeper").status_code == 404
    assert sec.get("/api/v1/users/keeper").json()["roles"] == []
    assert sec.get("/api/v1/pools", auth=("keeper", "k33p")).status_code == 403
    assert "PoolKeeper" not in role_names(sec.get(ROLES).json())


def test_delete_missing(open_sec: Client) -> None:
    problem = assert_unchanged(open_sec, "DELETE", f"{ROLES}/Ghosts")
    assert (problem["title"], problem["detail"]) == ("Role not found", "Role with name 'Ghosts' was not found")


def test_recreated_role_starts_empty(sec: Client) -> None:
    sec.delete(f"{ROLES}/PoolKeeper")
    sec.post(ROLES, json={"name": "PoolKeeper", "actions": []})
    assert sec.get(f"{ROLES}/PoolKeeper").json()["actions"] == []


# --- get_permissions --------------------------------------------------------------------------

def test_permissions_lists_actions_in_storage_order(open_sec: Client) -> None:
    body = open_sec.get("/api/v1/permissions").json()
    assert body == {"actions": [{"name": name} for name in DEFAULT_ACTIONS], "total_entries": 16}


@pytest.mark.parametrize(("params", "expected"), [
    ({"limit": 3, "offset": 2}, ["can_create", "can_delete", "menu_access"]),
    ({"offset": 15}, ["mulnotificationsentfalse"]),
    ({"offset": 100}, []),
])
def test_permissions_paging(open_sec: Client, params: dict[str, int], expected: list[str]) -> None:
    body = open_sec.get("/api/v1/permissions", params=params).json()
    assert [a["name"] for a in body["actions"]] == expected and body["total_entries"] == 16


@pytest.mark.parametrize(("params", "title"), [
    ({"limit": -1}, "Page limit must be a positive integer"),
    ({"order_by": "name"}, None),
])
def test_permissions_bad_parameters(open_sec: Client, params: dict[str, Any], title: str | None) -> None:
    body = open_sec.get("/api/v1/permissions", params=params).json()
    assert body["status"] == 400 and body["title"] == title


def test_an_incomplete_item_is_checked_after_the_duplicate_name(open_sec: Client) -> None:
    body = {"name": "Viewer", "actions": [{"action": {"name": "can_read"}}]}
    assert assert_unchanged(open_sec, "POST", ROLES, json=body)["status"] == 409
    patch = {"name": "PoolKeeper", "actions": [{"resource": {"name": "Pools"}}]}
    assert assert_unchanged(open_sec, "PATCH", f"{ROLES}/Nope", json=patch)["status"] == 404
    assert assert_unchanged(open_sec, "PATCH", f"{ROLES}/PoolKeeper", json=patch)["detail"] == (
        "{'actions': {0: {'action': ['Missing data for required field.']}}}")
