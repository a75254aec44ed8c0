"""Users: get_users, get_user, post_user, patch_user, delete_user (behaviour reference, User)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Client

USERS = "/api/v1/users"
SEEDED = ["admin", "Grace.Hopper", "etl_reader", "etl_editor", "parent_reader", "keeper", "retired", "nopass",
          "josé"]  # in id order
NEW = {"username": "neo", "email": "neo@example.com", "first_name": "Thomas", "last_name": "Anderson",
       "password": "red-pill", "roles": [{"name": "Viewer"}]}




def names(body: dict[str, Any]) -> list[str]:
    return [user["username"] for user in body["users"]]


def assert_unchanged(client: Client, method: str, url: str, **kwargs: Any) -> Any:
    app = client.app
    before = app.store.snapshot()
    response = client.request(method, url, **kwargs)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert app.store.snapshot() == before
    return response.json()


# --- get_users --------------------------------------------------------------------------------

def test_list_in_id_order_with_server_field_names_and_naive_dates(open_sec: Client) -> None:
    body = open_sec.get(USERS).json()
    assert names(body) == SEEDED
    assert body["total_entries"] == len(SEEDED)
    assert body["users"][0] == {
        "username": "admin", "email": "admin@example.com", "first_name": "Ada", "last_name": "Admin",
        "active": True, "roles": [{"name": "Admin"}], "created_on": "2024-03-01T09:00:00",
        "changed_on": "2024-03-01T09:00:00", "last_login": "2024-06-01T08:30:00.250000", "login_count": 41,
        "fail_login_count": 0,
    }
    assert all("password" not in user and "failed_login_count" not in user for user in body["users"])
    assert body["users"][1]["roles"] == [{"name": "Op"}, {"name": "Viewer"}]
    assert body["users"][6]["active"] is False


@pytest.mark.parametrize(("order_by", "first", "last"), [
    ("id", "admin", "josé"),
    ("first_name", "Ada", "Rita"),
    ("last_name", "Admin", "Retired"),
    ("email", "admin@example.com", "retired@example.com"),
])
def test_order_by_allowed_columns(open_sec: Client, order_by: str, first: str, last: str) -> None:
    users = open_sec.get(USERS, params={"order_by": order_by}).json()["users"]
    column = "username" if order_by == "id" else order_by
    values = [user[column] for user in users]
    assert values[0] == first and values[-1] == last
    if order_by != "id":
        assert values == sorted(values)


@pytest.mark.parametrize("order_by", ["-id", "-first_name", "username", "user_id", "password", "",
                                      "user_name", "is_active", "role"])
def test_order_by_refused_raw_value_in_message(open_sec: Client, order_by: str) -> None:
    response = open_sec.get(USERS, params={"order_by": order_by})
    assert response.status_code == 400
    assert response.json()["detail"] == (f"Ordering with '{order_by}' is disallowed or the attribute does not "
                                         "exist on the model")


@pytest.mark.parametrize(("params", "expected"), [
    ({"limit": 2}, SEEDED[:2]),
    ({"limit": 2, "offset": 2}, SEEDED[2:4]),
    ({"offset": 8}, SEEDED[8:]),
    ({"offset": 50}, []),
    ({"limit": 0}, SEEDED),  # fallback page limit
    ({"limit": 1000}, SEEDED),  # clamped to 100
])
def test_paging_keeps_total(open_sec: Client, params: dict[str, int], expected: list[str]) -> None:
    body = open_sec.get(USERS, params=params).json()
    assert names(body) == expected
    assert body["total_entries"] == len(SEEDED)


def test_negative_limit_wins_over_a_bad_order(open_sec: Client) -> None:
    body = open_sec.get(USERS, params={"limit": -1, "order_by": "nope"}).json()
    assert body["title"] == "Page limit must be a positive integer" and body["detail"] is None


@pytest.mark.parametrize(("params", "detail"), [
    ({"limit": "x"}, "Wrong type, expected 'integer' for query parameter 'limit'"),
    ({"offset": -1}, None),
    ({"sort": "id"}, "Extra query parameter(s) sort not in spec"),
])
def test_bad_list_parameters(open_sec: Client, params: dict[str, Any], detail: str | None) -> None:
    body = open_sec.get(USERS, params=params).json()
    assert body["status"] == 400
    if detail:
        assert body["detail"] == detail


# --- get_user ---------------------------------------------------------------------------------

@pytest.mark.parametrize("asked", ["grace.hopper", "GRACE.HOPPER", "Grace.Hopper"])
def test_get_is_case_insensitive(open_sec: Client, asked: str) -> None:
    body = open_sec.get(f"{USERS}/{asked}").json()
    assert body["username"] == "Grace.Hopper"
    assert body["login_count"] is None and body["last_login"] is None


def test_get_unicode_user(open_sec: Client) -> None:
    assert open_sec.get(f"{USERS}/JOSÉ").json()["last_name"] == "Núñez"


@pytest.mark.parametrize("username", ["nobody", "x" * 300, "ünï"])
def test_get_missing(open_sec: Client, username: str) -> None:
    response = open_sec.get(f"{USERS}/{username}")
    assert response.status_code == 404
    assert response.json() == {
        "detail": f"The User with username `{username}` was not found", "status": 404, "title": "User not found",
        "type": "https://airflow.apache.org/docs/apache-airflow/2.5.3/stable-rest-api-ref.html#section/Errors/NotFound",
    }


# --- post_user --------------------------------------------------------------------------------

def test_create_returns_the_user_and_stores_it(sec: Client) -> None:
    response = sec.post(USERS, json=NEW)
    assert response.status_code == 200
    body = response.json()
    now = sec.app.store.clock.now().replace(tzinfo=None).isoformat()
    assert body == {
        "username": "neo", "email": "neo@example.com", "first_name": "Thomas", "last_name": "Anderson",
        "active": True, "roles": [{"name": "Viewer"}], "created_on": body["created_on"],
        "changed_on": body["created_on"], "last_login": None, "login_count": None, "fail_login_count": None,
    }
    assert "+" not in body["created_on"] and body["created_on"][:16] == now[:16]
    stored = sec.app.store.state.users["neo"]
    assert stored.password == "red-pill" and stored.id == len(SEEDED) + 1
    assert sec.get(f"{USERS}/neo").json() == body
    assert names(sec.get(USERS).json())[-1] == "neo"


def test_new_user_can_log_in_with_their_role(sec: Client) -> None:
    sec.post(USERS, json=NEW)
    assert sec.get("/api/v1/pools", auth=("neo", "red-pill")).status_code == 403  # Viewer
    assert sec.get("/api/v1/importErrors", auth=("NEO", "red-pill")).status_code == 200
    user = sec.get(f"{USERS}/neo").json()
    assert user["login_count"] == 2 and user["fail_login_count"] == 0 and user["last_login"] is not None


def test_create_without_roles_gives_public(sec: Client) -> None:
    body = {k: v for k, v in NEW.items() if k != "roles"}
    assert sec.post(USERS, json=body).json()["roles"] == [{"name": "Public"}]
    assert sec.post(USERS, json={**NEW, "username": "n2", "email": "n2@x.io", "roles": []}).json()["roles"] == [
        {"name": "Public"}]


def test_create_without_password_cannot_log_in(sec: Client) -> None:
    body = {k: v for k, v in NEW.items() if k != "password"}
    assert sec.post(USERS, json=body).status_code == 200
    assert sec.get("/api/v1/importErrors", auth=("neo", "")).status_code == 401
    assert sec.get("/api/v1/importErrors", auth=("neo", "None")).status_code == 401


def test_create_with_several_roles_keeps_their_order(sec: Client) -> None:
    roles = [{"name": "Op"}, {"name": "EtlReader"}, {"name": "Admin"}]
    assert sec.post(USERS, json={**NEW, "roles": roles}).json()["roles"] == roles


@pytest.mark.parametrize(("change", "status", "detail"), [
    ({"username": "ADMIN"}, 409, "Username `ADMIN` already exists. Use PATCH to update."),
    ({"username": "admin", "email": "admin@example.com"}, 409, "Username `admin` already exists. Use PATCH to update."),
    ({"email": "grace@navy.example"}, 409, "The email `grace@navy.example` is already taken."),
    ({"roles": [{"name": "Pilot"}, {"name": "Viewer"}, {"name": "viewer"}]}, 400, "Unknown roles: 'Pilot', 'viewer'"),
    ({"roles": [{"name": "Viewer"}, {"name": "Viewer"}]}, 400,
     "Cannot give user `neo` the same role twice: 'Viewer'"),
    ({"foo": 1}, 400, "{'foo': ['Unknown field.']}"),
    ({"fail_login_count": 1}, 400, "{'fail_login_count': ['Unknown field.']}"),
    ({"username": "u" * 65}, 400, "{'username': ['Longer than maximum length 64.']}"),
    ({"first_name": "f" * 65, "email": "e" * 65}, 400,
     "{'first_name': ['Longer than maximum length 64.'], 'email': ['Longer than maximum length 64.']}"),
    ({"password": "p" * 257}, 400, "{'password': ['Longer than maximum length 256.']}"),
    ({"roles": [{}]}, 400, "{'roles': {0: {'name': ['Missing data for required field.']}}}"),
    ({"roles": [{"name": "Viewer"}, None]}, 400, "{'roles': {1: ['Field may not be null.']}}"),
    ({"roles": [{"name": "Viewer", "actions": []}]}, 400, "{'roles': {0: {'actions': ['Unknown field.']}}}"),
    ({"active": False}, 400, "Property is read-only - 'active'"),
    ({"login_count": 3}, 400, "Property is read-only - 'login_count'"),
    ({"username": ""}, 400, "'' is too short - 'username'"),
    ({"username": 7}, 400, "7 is not of type 'string' - 'username'"),
    ({"roles": "Viewer"}, 400, "'Viewer' is not of type 'array' - 'roles'"),
    ({"first_name": None}, 400, "None is not of type 'string' - 'first_name'"),
])
def test_create_refused(open_sec: Client, change: dict[str, Any], status: int, detail: str) -> None:
    body = assert_unchanged(open_sec, "POST", USERS, json={**NEW, **change})
    assert (body["status"], body["detail"]) == (status, detail)


@pytest.mark.parametrize(("body", "detail"), [
    ({"username": "neo"}, "{'first_name': ['Missing data for required field.'], 'last_name': ['Missing data for "
                          "required field.'], 'email': ['Missing data for required field.']}"),
    ({"email": "x@y.z", "zzz": 1, "aaa": 2}, "{'first_name': ['Missing data for required field.'], 'last_name': "
     "['Missing data for required field.'], 'username': ['Missing data for required field.'], 'aaa': ['Unknown "
     "field.'], 'zzz': ['Unknown field.']}"),
    ({}, "{'first_name': ['Missing data for required field.'], 'last_name': ['Missing data for required field.'], "
         "'username': ['Missing data for required field.'], 'email': ['Missing data for required field.']}"),
    ([], "[] is not of type 'object'"),
])
def test_create_missing_fields_in_schema_order(open_sec: Client, body: Any, detail: str) -> None:
    assert assert_unchanged(open_sec, "POST", USERS, json=body)["detail"] == detail


@pytest.mark.parametrize(("content", "detail"), [
    (b"{not json", "Request body is not valid JSON"),
    (b"null", "Request body is not valid JSON"),
    (b"", "None is not of type 'object'"),
])
def test_create_malformed_body(open_sec: Client, content: bytes, detail: str) -> None:
    body = assert_unchanged(open_sec, "POST", USERS, content=content, headers={"content-type": "application/json"})
    assert body["detail"] == detail


def test_create_non_json_content_type(open_sec: Client) -> None:
    body = assert_unchanged(open_sec, "POST", USERS, content=b"username=neo",
                            headers={"content-type": "application/x-www-form-urlencoded"})
    assert body["status"] == 415


def test_duplicate_username_is_checked_before_email(sec: Client) -> None:
    response = sec.post(USERS, json={**NEW, "username": "Admin", "email": "grace@navy.example"})
    assert response.json()["detail"] == "Username `Admin` already exists. Use PATCH to update."


def test_email_is_case_sensitive(sec: Client) -> None:
    assert sec.post(USERS, json={**NEW, "email": "GRACE@navy.example"}).status_code == 200


def test_unicode_username(sec: Client) -> None:
    response = sec.post(USERS, json={**NEW, "username": "Zoë-ß", "password": "ключ"})
    assert response.status_code == 200
    assert sec.get(f"{USERS}/zoë-ß").json()["username"] == "Zoë-ß"
    assert sec.get("/api/v1/importErrors", auth=("Zoë-ß", "ключ")).status_code == 200


# --- patch_user -------------------------------------------------------------------------------

GRACE = {"username": "Grace.Hopper", "email": "grace@navy.example", "first_name": "Grace", "last_name": "Hopper"}


def test_patch_without_mask_sets_every_given_field(sec: Client) -> None:
    body = sec.patch(f"{USERS}/Grace.Hopper", json={**GRACE, "first_name": "Amazing", "last_name": "Grace",
                                                    "roles": [{"name": "User"}]}).json()
    assert (body["first_name"], body["last_name"], body["roles"]) == ("Amazing", "Grace", [{"name": "User"}])
    assert body["changed_on"] == "2024-03-05T11:00:00"  # unchanged, as observed
    assert sec.get(f"{USERS}/Grace.Hopper").json() == body


def test_patch_without_roles_keeps_them_and_empty_roles_clear_them(sec: Client) -> None:
    assert sec.patch(f"{USERS}/Grace.Hopper", json=GRACE).json()["roles"] == [{"name": "Op"}, {"name": "Viewer"}]
    assert sec.patch(f"{USERS}/Grace.Hopper", json={**GRACE, "roles": []}).json()["roles"] == []


def test_patch_with_mask_changes_only_masked_fields(sec: Client) -> None:
    body = sec.patch(f"{USERS}/Grace.Hopper", params={"update_mask": " first_name , last_name"},
                     json={**GRACE, "email": "ignored@example.com", "first_name": "G", "last_name": "H",
                           "roles": [{"name": "Admin"}]}).json()
    assert (body["first_name"], body["last_name"], body["email"]) == ("G", "H", "grace@navy.example")
    assert body["roles"] == [{"name": "Op"}, {"name": "Viewer"}]


def test_patch_roles_with_mask(sec: Client) -> None:
    body = sec.patch(f"{USERS}/Grace.Hopper", params={"update_mask": "roles"},
                     json={**GRACE, "first_name": "x", "roles": [{"name": "Viewer"}, {"name": "Op"}]}).json()
    assert body["roles"] == [{"name": "Viewer"}, {"name": "Op"}] and body["first_name"] == "Grace"


def test_patch_password_changes_login(sec: Client) -> None:
    sec.patch(f"{USERS}/Grace.Hopper", params={"update_mask": "password"}, json={**GRACE, "password": "fortran"})
    assert sec.get("/api/v1/pools", auth=("grace.hopper", "cobol")).status_code == 401
    assert sec.get("/api/v1/pools", auth=("grace.hopper", "fortran")).status_code == 200


def test_patch_renames(sec: Client) -> None:
    body = sec.patch(f"{USERS}/etl_reader", json={"username": "eve", "email": "eve@example.com",
                                                  "first_name": "Eve", "last_name": "Reader"}).json()
    assert body["username"] == "eve" and body["email"] == "eve@example.com"
    assert sec.get(f"{USERS}/etl_reader").status_code == 404
    assert names(sec.get(USERS).json())[2] == "eve"  # same place in id order
    assert sec.get("/api/v1/dags/etl_daily/dagRuns", auth=("eve", "r3ad")).status_code != 401


def test_patch_keeps_own_email(sec: Client) -> None:
    assert sec.patch(f"{USERS}/Grace.Hopper", json=GRACE).status_code == 200


@pytest.mark.parametrize(("path_name", "change", "params", "status", "detail"), [
    ("nobody", {}, {}, 404, "The User with username `nobody` was not found"),
    ("Grace.Hopper", {"username": "ADMIN"}, {}, 409, "The username `ADMIN` already exists"),
    # the clash check compares with the path as typed, so a case change of one's own name clashes
    ("grace.hopper", {}, {}, 409, "The username `Grace.Hopper` already exists"),
    ("Grace.Hopper", {"email": "admin@example.com"}, {}, 409, "The email `admin@example.com` already exists"),
    # clashes are checked before the mask is applied
    ("Grace.Hopper", {"email": "admin@example.com"}, {"update_mask": "first_name"}, 409,
     "The email `admin@example.com` already exists"),
    ("Grace.Hopper", {}, {"update_mask": "first_name,active,password"}, 400,
     "Unknown update masks: 'active', 'password'"),
    ("Grace.Hopper", {"roles": [{"name": "Nope"}]}, {}, 400, "Unknown roles: 'Nope'"),
    ("Grace.Hopper", {"roles": [{"name": "Nope"}]}, {"update_mask": "roles"}, 400, "Unknown roles: 'Nope'"),
    ("Grace.Hopper", {"roles": [{"name": "Op"}, {"name": "Op"}]}, {}, 400,
     "Cannot give user `Grace.Hopper` the same role twice: 'Op'"),
    ("Grace.Hopper", {"extra": True}, {}, 400, "{'extra': ['Unknown field.']}"),
    ("nobody", {"extra": True}, {}, 400, "{'extra': ['Unknown field.']}"),  # load before lookup
    ("Grace.Hopper", {"created_on": "2024-01-01T00:00:00"}, {}, 400, "Property is read-only - 'created_on'"),
    ("Grace.Hopper", {}, {"update_mask": "first_name", "bogus": "1"}, 400,
     "Extra query parameter(s) bogus not in spec"),
])
def test_patch_refused(open_sec: Client, path_name: str, change: dict[str, Any], params: dict[str, str],
                       status: int, detail: str) -> None:
    body = assert_unchanged(open_sec, "PATCH", f"{USERS}/{path_name}", params=params, json={**GRACE, **change})
    assert (body["status"], body["detail"]) == (status, detail)


@pytest.mark.parametrize("missing", ["username", "email", "first_name", "last_name"])
def test_patch_always_needs_the_four_fields(open_sec: Client, missing: str) -> None:
    body = {k: v for k, v in GRACE.items() if k != missing}
    problem = assert_unchanged(open_sec, "PATCH", f"{USERS}/Grace.Hopper", params={"update_mask": "roles"},
                               json={**body, "roles": []})
    assert problem["detail"] == f"{{'{missing}': ['Missing data for required field.']}}"


# --- delete_user ------------------------------------------------------------------------------

def test_delete(sec: Client) -> None:
    response = sec.delete(f"{USERS}/GRACE.HOPPER")
    assert response.status_code == 204 and response.content == b""
    assert sec.get(f"{USERS}/Grace.Hopper").status_code == 404
    assert sec.get("/api/v1/pools", auth=("Grace.Hopper", "cobol")).status_code == 401
    assert "Grace.Hopper" not in names(sec.get(USERS).json())
    assert sec.delete(f"{USERS}/Grace.Hopper").json()["detail"] == "The User with username `Grace.Hopper` was not found"


def test_delete_missing_changes_nothing(open_sec: Client) -> None:
    assert assert_unchanged(open_sec, "DELETE", f"{USERS}/nobody")["title"] == "User not found"


def test_deleting_yourself_locks_you_out(sec: Client) -> None:
    assert sec.delete(f"{USERS}/admin").status_code == 204
    assert sec.get(USERS).status_code == 401
    sec.app.store.reset()
    assert sec.get(USERS).status_code == 200


def test_stripping_your_own_admin_role_takes_effect_at_once(sec: Client) -> None:
    admin = {"username": "admin", "email": "admin@example.com", "first_name": "Ada", "last_name": "Admin"}
    assert sec.patch(f"{USERS}/admin", json={**admin, "roles": [{"name": "Viewer"}]}).status_code == 200
    assert sec.get(USERS).status_code == 403
