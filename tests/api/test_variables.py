"""Variables: get_variables, get_variable, post_variables, patch_variable, delete_variable, and the
audit rows they write (behaviour reference, Variable and 0.12)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

from tests.conftest import FIXTURES, MINIMAL, Client

PVC = FIXTURES / "pvc"
SEEDED = ["env", "retention_days", "feature_flags", "partner_api_key"]  # in id order
SCHEMA = "Invalid Variable schema"


@pytest.fixture
def pvc(make_client: Callable[..., Client]) -> Client:
    return make_client(MINIMAL, PVC)


def variables_table(client: Client) -> Any:
    """The tables a refused request must leave alone (a whole snapshot would differ: every
    authenticated call counts a login, and audited calls write their row even when refused)."""
    state = client.app.store.state
    return copy.deepcopy((state.variables, state.last_ids.get("variables")))


def keys(body: dict[str, Any]) -> list[str]:
    return [variable["key"] for variable in body["variables"]]


def audit_rows(client: Client) -> list[tuple[str, str | None, str | None]]:
    rows = client.app.store.state.event_logs.values()
    return [(row.event, row.owner, row.extra) for row in rows if row.event.startswith("variable.")]


def url(key: str) -> str:
    return f"/api/v1/variables/{quote(key, safe='/')}"


# --- get_variables ----------------------------------------------------------------------------

def test_list_items_include_the_value(pvc: Client) -> None:
    body = pvc.get("/api/v1/variables").json()
    assert keys(body) == SEEDED
    assert body["total_entries"] == 4
    assert body["variables"][0] == {"key": "env", "value": "staging", "description": "Deployment environment"}
    # a JSON fixture value is stored as text; secret-looking keys are served in clear
    assert body["variables"][2]["value"] == '{"new_ui":true,"beta":["a","b"]}'
    assert body["variables"][3]["value"] == "pk_live_4f9a2c"


@pytest.mark.parametrize(("order_by", "expected"), [
    ("key", sorted(SEEDED)),
    ("-key", sorted(SEEDED, reverse=True)),
    ("value", ["retention_days", "partner_api_key", "env", "feature_flags"]),
    ("-id", SEEDED[::-1]),
])
def test_list_ordering(pvc: Client, order_by: str, expected: list[str]) -> None:
    assert keys(pvc.get("/api/v1/variables", params={"order_by": order_by}).json()) == expected


@pytest.mark.parametrize("order_by", ["description", "-description", "val", "_val"])
def test_list_ordering_refused(pvc: Client, order_by: str) -> None:
    response = pvc.get("/api/v1/variables", params={"order_by": order_by})
    assert response.status_code == 400
    assert response.json()["detail"] == (f"Ordering with '{order_by.lstrip('-')}' is disallowed or the "
                                         "attribute does not exist on the model")


@pytest.mark.parametrize(("params", "expected"), [
    ({"limit": 1, "offset": 1, "order_by": "key"}, ["feature_flags"]),
    ({"limit": 0}, SEEDED),
    ({"limit": 1000}, SEEDED),
    ({"offset": 4}, []),
])
def test_list_paging(pvc: Client, params: dict[str, Any], expected: list[str]) -> None:
    body = pvc.get("/api/v1/variables", params=params).json()
    assert (keys(body), body["total_entries"]) == (expected, 4)


def test_list_bad_paging(pvc: Client) -> None:
    assert pvc.get("/api/v1/variables", params={"limit": -1}).json()["title"] == "Page limit must be a positive integer"
    assert pvc.get("/api/v1/variables", params={"offset": -5}).status_code == 400


def test_list_empty(make_client: Callable[..., Client]) -> None:
    assert make_client().get("/api/v1/variables").json() == {"variables": [], "total_entries": 0}


# --- get_variable -----------------------------------------------------------------------------

def test_get_one(pvc: Client) -> None:
    assert pvc.get("/api/v1/variables/retention_days").json() == {
        "key": "retention_days", "value": "30", "description": None}


@pytest.mark.parametrize("key", ["nope", "ENV", "a/b"])
def test_get_missing_is_404_with_the_message_in_the_title(pvc: Client, key: str) -> None:
    response = pvc.get(url(key))
    assert response.status_code == 404
    assert (response.json()["title"], response.json()["detail"]) == ("Variable not found", None)


@pytest.mark.parametrize("key", ["dir/sub/leaf", "dt_vär", "dots.and-dashes", "日本語", "k" * 250, "with space"])
def test_awkward_keys_round_trip(pvc: Client, key: str) -> None:
    assert pvc.post("/api/v1/variables", json={"key": key, "value": "v"}).status_code == 200
    assert pvc.get(url(key)).json()["key"] == key
    assert pvc.get(f"/api/v1/variables/{quote(key, safe='')}").json()["key"] == key  # %2F works too
    assert pvc.delete(url(key)).status_code == 204


# --- post_variables ---------------------------------------------------------------------------

def test_post_echoes_description_but_does_not_store_it(pvc: Client) -> None:
    response = pvc.post("/api/v1/variables", json={"key": "k1", "value": "hello", "description": "first"})
    assert (response.status_code, response.json()) == (200, {"key": "k1", "value": "hello", "description": "first"})
    assert pvc.get(url("k1")).json() == {"key": "k1", "value": "hello", "description": None}


def test_post_without_description_answers_without_it(pvc: Client) -> None:
    assert pvc.post("/api/v1/variables", json={"key": "k1", "value": ""}).json() == {"key": "k1", "value": ""}


def test_post_on_an_existing_key_overwrites_it_as_a_new_row(pvc: Client) -> None:
    response = pvc.post("/api/v1/variables", json={"key": "env", "value": "prod"})
    assert (response.status_code, response.json()) == (200, {"key": "env", "value": "prod"})
    assert pvc.get(url("env")).json() == {"key": "env", "value": "prod", "description": None}
    # Variable.set deletes and re-adds: the row gets a new id, so it moves to the end
    assert keys(pvc.get("/api/v1/variables").json()) == [*SEEDED[1:], "env"]
    assert pvc.get("/api/v1/variables").json()["total_entries"] == 4


def test_post_keeps_json_looking_values_as_text(pvc: Client) -> None:
    value = '{"a": [1, 2]}'
    assert pvc.post("/api/v1/variables", json={"key": "j", "value": value}).json()["value"] == value
    assert pvc.get(url("j")).json()["value"] == value


@pytest.mark.parametrize(("body", "title", "detail"), [
    ({"key": "k"}, SCHEMA, "{'value': ['Missing data for required field.']}"),
    ({"value": "v"}, SCHEMA, "{'key': ['Missing data for required field.']}"),
    ({}, SCHEMA, "{'key': ['Missing data for required field.'], 'value': ['Missing data for required field.']}"),
    ({"key": "k", "value": "v", "colour": 1}, SCHEMA, "{'colour': ['Unknown field.']}"),
    ({"value": "v", "zz": 1}, SCHEMA, "{'key': ['Missing data for required field.'], 'zz': ['Unknown field.']}"),
    ({"key": "k", "value": "v", "description": None}, SCHEMA, "{'description': ['Field may not be null.']}"),
    ({"key": "", "value": "v", "description": None}, SCHEMA,
     "{'description': ['Field may not be null.']}"),  # the load fails before the key is looked at
    ({"key": "k", "value": 12}, "Bad Request", "12 is not of type 'string' - 'value'"),
    ({"key": "k", "value": None}, "Bad Request", "None is not of type 'string' - 'value'"),
    ({"key": "k", "value": {"a": 1}}, "Bad Request", "{'a': 1} is not of type 'string' - 'value'"),
    ({"key": 5, "value": "v"}, "Bad Request", "5 is not of type 'string' - 'key'"),
    ({"key": "k", "value": "v", "description": 3}, "Bad Request", "3 is not of type 'string' - 'description'"),
    (["k", "v"], "Bad Request", "['k', 'v'] is not of type 'object'"),
])
def test_post_refusals_leave_the_store_unchanged(pvc: Client, body: Any, title: str, detail: str) -> None:
    before = variables_table(pvc)
    response = pvc.post("/api/v1/variables", json=body)
    assert response.status_code == 400
    assert (response.json()["title"], response.json()["detail"]) == (title, detail)
    assert variables_table(pvc) == before


def test_post_malformed_json(pvc: Client) -> None:
    before = variables_table(pvc)
    response = pvc.post("/api/v1/variables", content=b'{"key": ', headers={"content-type": "application/json"})
    assert (response.status_code, response.json()["detail"]) == (400, "Request body is not valid JSON")
    assert variables_table(pvc) == before


# --- patch_variable ---------------------------------------------------------------------------

def patch(client: Client, key: str, body: Any, mask: str | None = None) -> Any:
    return client.patch(url(key), params={"update_mask": mask} if mask is not None else None, json=body)


def test_patch_without_mask_sets_value_and_keeps_an_omitted_description(pvc: Client) -> None:
    body = patch(pvc, "env", {"key": "env", "value": "prod"}).json()
    assert body == {"key": "env", "value": "prod", "description": "Deployment environment"}
    body = patch(pvc, "env", {"key": "env", "value": "qa", "description": ""}).json()
    assert body == {"key": "env", "value": "qa", "description": ""}
    assert pvc.get(url("env")).json() == body
    assert keys(pvc.get("/api/v1/variables").json()) == SEEDED  # same row, same place


@pytest.mark.parametrize(("mask", "body", "expected"), [
    ("description", {"key": "env", "value": "x", "description": "new"}, ("staging", "new")),
    ("val", {"key": "env", "value": "masked", "description": "ignored"}, ("masked", "Deployment environment")),
    (" val , description ", {"key": "env", "value": "v2", "description": "d2"}, ("v2", "d2")),
])
def test_patch_with_mask(pvc: Client, mask: str, body: dict[str, Any], expected: tuple[str, str]) -> None:
    response = patch(pvc, "env", body, mask)
    assert response.status_code == 200
    assert (response.json()["value"], response.json()["description"]) == expected


@pytest.mark.parametrize(("key", "body", "mask", "status", "title", "detail"), [
    ("env", {"key": "env", "value": "x"}, "value", 400, "Bad Request", "'value' is unknown or cannot be updated."),
    ("env", {"key": "env", "value": "x"}, "key", 400, "Bad Request", "'key' is unknown or cannot be updated."),
    ("env", {"key": "env", "value": "x"}, "description", 400, "Bad Request",
     "'description' is unknown or cannot be updated."),
    ("env", {"key": "env", "value": "x"}, "val,bogus", 400, "Bad Request", "'bogus' is unknown or cannot be updated."),
    ("env", {"key": "env", "value": "x"}, "", 400, "Bad Request", "'' is unknown or cannot be updated."),
    ("env", {"key": "other", "value": "x"}, None, 400, "Invalid post body",
     "key from request body doesn't match uri parameter"),
    ("env", {"key": "ENV", "value": "x"}, None, 400, "Invalid post body",
     "key from request body doesn't match uri parameter"),
    ("env", {"value": "x"}, None, 400, SCHEMA, "{'key': ['Missing data for required field.']}"),
    ("env", {"key": "env"}, "description", 400, SCHEMA, "{'value': ['Missing data for required field.']}"),
    ("env", {"key": "env", "value": "x", "extra": 1}, None, 400, SCHEMA, "{'extra': ['Unknown field.']}"),
    ("env", {"key": "env", "value": 1}, None, 400, "Bad Request", "1 is not of type 'string' - 'value'"),
    ("nope", {"key": "nope", "value": "x"}, None, 404, "Variable not found", None),
    ("nope", {"key": "nope", "value": "x"}, "val", 404, "Variable not found", None),
    ("nope", {"key": "other", "value": "x"}, None, 400, "Invalid post body",
     "key from request body doesn't match uri parameter"),
])
def test_patch_refusals_leave_the_store_unchanged(pvc: Client, key: str, body: dict[str, Any], mask: str | None,
                                                  status: int, title: str, detail: str | None) -> None:
    before = variables_table(pvc)
    response = patch(pvc, key, body, mask)
    assert response.status_code == status
    assert (response.json()["title"], response.json()["detail"]) == (title, detail)
    assert variables_table(pvc) == before


# --- delete_variable --------------------------------------------------------------------------

def test_delete_then_404(pvc: Client) -> None:
    response = pvc.delete(url("env"))
    assert (response.status_code, response.content) == (204, b"")
    assert pvc.get(url("env")).status_code == 404
    assert pvc.delete(url("env")).json()["title"] == "Variable not found"
    assert keys(pvc.get("/api/v1/variables").json()) == SEEDED[1:]


# --- audit rows -------------------------------------------------------------------------------

def test_each_write_writes_one_audit_row_even_when_it_then_fails(pvc: Client) -> None:
    pvc.post("/api/v1/variables", json={"key": "k", "value": "v"})
    pvc.post("/api/v1/variables", json={"key": "k"})  # marshmallow 400: still audited
    patch(pvc, "k", {"key": "k", "value": "v2"})
    patch(pvc, "k", {"key": "k", "value": "v2", "description": "d"}, "description")
    patch(pvc, "missing", {"key": "missing", "value": "x"})
    pvc.delete(url("k"))
    pvc.delete(url("k"))  # 404: still audited
    assert audit_rows(pvc) == [
        ("variable.create", "admin", "[]"),
        ("variable.create", "admin", "[]"),
        ("variable.edit", "admin", "[('variable_key', 'k')]"),
        ("variable.edit", "admin", "[('update_mask', 'description'), ('variable_key', 'k')]"),
        ("variable.edit", "admin", "[('variable_key', 'missing')]"),
        ("variable.delete", "admin", "[('variable_key', 'k')]"),
        ("variable.delete", "admin", "[('variable_key', 'k')]"),
    ]
    row = list(pvc.app.store.state.event_logs.values())[-1]
    assert (row.dag_id, row.task_id, row.execution_date) == (None, None, None)


def test_reads_and_refused_requests_write_no_audit_row(make_client: Callable[..., Client]) -> None:
    client = make_client(MINIMAL, PVC)
    client.get("/api/v1/variables")
    client.get(url("env"))
    client.post("/api/v1/variables", json={"key": "k", "value": 1})  # spec-level 400
    make_client(MINIMAL, PVC, auth=("viewer", "viewer")).post("/api/v1/variables", json={"key": "k", "value": "v"})
    assert audit_rows(client) == []
    viewer = make_client(MINIMAL, PVC, auth=("viewer", "viewer"))
    assert viewer.post("/api/v1/variables", json={"key": "k", "value": "v"}).status_code == 403
    assert viewer.delete(url("env")).status_code == 403
    assert audit_rows(viewer) == []


def test_audit_rows_mask_the_values_of_secret_variables(pvc: Client) -> None:
    # partner_api_key's value is a secret the server knows: it never reaches the audit log
    pvc.delete(url("copy_of_pk_live_4f9a2c"))
    assert audit_rows(pvc)[-1][2] == "[('variable_key', 'copy_of_***')]"
    pvc.delete(url("env"))
    assert audit_rows(pvc)[-1][2] == "[('variable_key', 'env')]"


# --- permissions ------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/api/v1/variables", None),
    ("GET", "/api/v1/variables/env", None),
    ("POST", "/api/v1/variables", {"key": "x", "value": "1"}),
    ("PATCH", "/api/v1/variables/env", {"key": "env", "value": "1"}),
    ("DELETE", "/api/v1/variables/env", None),
])
@pytest.mark.parametrize(("user", "status"), [("viewer", 403), ("user", 403), ("op", None), ("nobody", 401)])
def test_only_op_and_admin_reach_variables(make_client: Callable[..., Client], method: str, path: str,
                                            body: Any, user: str, status: int | None) -> None:
    client = make_client(MINIMAL, PVC, auth=(user, user))
    before = variables_table(client)
    response = client.request(method, path, json=body)
    if status is None:
        assert response.status_code in (200, 204)
    else:
        assert response.status_code == status
        assert variables_table(client) == before


def test_long_keys_are_stored_as_sqlite_stores_them(pvc: Client) -> None:
    key = "k" * 300  # past the column's String(250): SQLite does not enforce it (real 2.5.3: 200)
    made = pvc.post("/api/v1/variables", json={"key": key, "value": "v"})
    assert (made.status_code, made.json()) == (200, {"key": key, "value": "v"})
    assert pvc.get(url(key)).json() == {"key": key, "value": "v", "description": None}
    assert pvc.patch(url(key), json={"key": key, "value": "w"}).json()["value"] == "w"
    assert pvc.delete(url(key)).status_code == 204
    assert pvc.get(url(key)).status_code == 404


@pytest.mark.parametrize("query", [{}, {"update_mask": "description"}, {"update_mask": "value"}])
def test_patch_refuses_a_null_description_whatever_the_mask(pvc: Client, query: dict[str, str]) -> None:
    # marshmallow loads the whole body before the mask is read (real 2.5.3)
    assert pvc.post("/api/v1/variables", json={"key": "nd", "value": "v", "description": "d"}).status_code == 200
    before = variables_table(pvc)
    response = pvc.patch(url("nd"), params=query, json={"key": "nd", "value": "w", "description": None})
    assert response.status_code == 400
    assert response.json()["title"] == SCHEMA
    assert response.json()["detail"] == "{'description': ['Field may not be null.']}"
    assert variables_table(pvc) == before


def test_an_empty_key_is_stored_and_only_the_list_shows_it(pvc: Client) -> None:
    made = pvc.post("/api/v1/variables", json={"key": "", "value": "v"})  # real 2.5.3: 200
    assert (made.status_code, made.json()) == (200, {"key": "", "value": "v"})
    assert "" in keys(pvc.get("/api/v1/variables").json())
