"""Connections: get_connections, get_connection, post_connection, patch_connection,
delete_connection, test_connection, and their audit rows (behaviour reference, Connection)."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

from mockflow.api.shapes.connections import masked_extra
from tests.conftest import FIXTURES, MINIMAL, Client

PVC = FIXTURES / "pvc"
SEEDED = ["warehouse", "partner_http", "local_sqlite", "mail"]  # in id order
WAREHOUSE = {
    "connection_id": "warehouse", "conn_type": "postgres", "description": "Analytics warehouse",
    "host": "warehouse.internal", "login": "etl", "schema": "analytics", "port": 5432,
    "extra": '{"sslmode": "require", "api_token": "***", "nested": {"client_secret": "***", "retries": 3}}',
}
FULL = {"connection_id": "c1", "conn_type": "postgres", "host": "db.example.com", "login": "u1",
        "password": "s3cret-pw", "port": 5432, "schema": "s1", "extra": '{"sslmode": "require"}',
        "description": "d1"}


@pytest.fixture
def pvc(make_client: Callable[..., Client]) -> Client:
    return make_client(MINIMAL, PVC)


def connections_table(client: Client) -> Any:
    """The tables a refused request must leave alone (a whole snapshot would differ: every
    authenticated call counts a login, and audited calls write their row even when refused)."""
    state = client.app.store.state
    return copy.deepcopy((state.connections, state.last_ids.get("connections")))


def ids(body: dict[str, Any]) -> list[str]:
    return [conn["connection_id"] for conn in body["connections"]]


def audit_rows(client: Client) -> list[tuple[str, str | None, str | None]]:
    rows = client.app.store.state.event_logs.values()
    return [(row.event, row.owner, row.extra) for row in rows if row.event.startswith("connection.")]


def stored(client: Client, connection_id: str) -> Any:
    return client.app.store.state.connections[connection_id]


# --- get_connections --------------------------------------------------------------------------

def test_list_items_omit_extra_and_password(pvc: Client) -> None:
    body = pvc.get("/api/v1/connections").json()
    assert (ids(body), body["total_entries"]) == (SEEDED, 4)
    assert body["connections"][0] == {k: v for k, v in WAREHOUSE.items() if k != "extra"}


@pytest.mark.parametrize(("order_by", "expected"), [
    ("connection_id", sorted(SEEDED)),
    ("-connection_id", sorted(SEEDED, reverse=True)),
    ("conn_type", ["partner_http", "mail", "warehouse", "local_sqlite"]),
    ("-host", ["warehouse", "mail", "partner_http", "local_sqlite"]),
    ("port", ["partner_http", "local_sqlite", "mail", "warehouse"]),  # NULLs first, ties in id order
    ("-port", ["warehouse", "partner_http", "local_sqlite", "mail"]),
    ("description", ["partner_http", "local_sqlite", "mail", "warehouse"]),
    ("-id", SEEDED[::-1]),
])
def test_list_ordering(pvc: Client, order_by: str, expected: list[str]) -> None:
    assert ids(pvc.get("/api/v1/connections", params={"order_by": order_by}).json()) == expected


@pytest.mark.parametrize("order_by", ["password", "login", "conn_id", "-schema", "extra"])
def test_list_ordering_refused(pvc: Client, order_by: str) -> None:
    response = pvc.get("/api/v1/connections", params={"order_by": order_by})
    assert response.status_code == 400
    assert response.json()["detail"] == (f"Ordering with '{order_by.lstrip('-')}' is disallowed or the "
                                         "attribute does not exist on the model")


@pytest.mark.parametrize(("params", "expected"), [
    ({"limit": 1}, SEEDED[:1]),
    ({"limit": 2, "offset": 1}, SEEDED[1:3]),
    ({"offset": 1000}, []),
    ({"limit": 500}, SEEDED),
])
def test_list_paging(pvc: Client, params: dict[str, Any], expected: list[str]) -> None:
    body = pvc.get("/api/v1/connections", params=params).json()
    assert (ids(body), body["total_entries"]) == (expected, 4)


def test_list_limit_minus_one(pvc: Client) -> None:
    response = pvc.get("/api/v1/connections", params={"limit": -1})
    assert (response.status_code, response.json()["title"]) == (400, "Page limit must be a positive integer")


# --- get_connection ---------------------------------------------------------------------------

def test_get_masks_sensitive_extra_keys_and_never_sends_the_password(pvc: Client) -> None:
    assert pvc.get("/api/v1/connections/warehouse").json() == WAREHOUSE
    assert stored(pvc, "warehouse").password == "hunter2pw"


def test_get_returns_non_json_extra_as_is(pvc: Client) -> None:
    assert pvc.get("/api/v1/connections/partner_http").json()["extra"] == "not json at all"
    assert pvc.get("/api/v1/connections/mail").json()["extra"] is None


@pytest.mark.parametrize(("extra", "served"), [
    ('{"a":1,"b":[1,2]}', '{"a": 1, "b": [1, 2]}'),  # re-serialised the way Python's json prints
    ('{"password": 1234, "token": null}', '{"password": 1234, "token": null}'),  # only strings are hidden
    ('{"secret_list": ["x", {"k": "y"}]}', '{"secret_list": ["***", {"k": "***"}]}'),
    ('{"outer": [{"Authorization": "Bearer x"}]}', '{"outer": [{"Authorization": "***"}]}'),
    ('{"name": "é"}', '{"name": "\\u00e9"}'),
    ("[1, 2]", "[1, 2]"),
    ('"text"', '"text"'),
    ("{broken", "{broken"),
    ("", ""),
])
def test_extra_masking(extra: str, served: str) -> None:
    assert masked_extra(extra) == served


@pytest.mark.parametrize("connection_id", ["nope", "WAREHOUSE"])
def test_get_missing_is_404(pvc: Client, connection_id: str) -> None:
    response = pvc.get(f"/api/v1/connections/{connection_id}")
    assert response.status_code == 404
    assert response.json()["title"] == "Connection not found"
    assert response.json()["detail"] == f"The Connection with connection_id: `{connection_id}` was not found"


# --- post_connection --------------------------------------------------------------------------

def test_post_creates_and_answers_without_password(pvc: Client) -> None:
    response = pvc.post("/api/v1/connections", json=FULL)
    expected = {k: v for k, v in FULL.items() if k != "password"}
    assert (response.status_code, response.json()) == (200, expected)
    assert pvc.get("/api/v1/connections/c1").json() == expected
    assert stored(pvc, "c1").password == "s3cret-pw"
    assert ids(pvc.get("/api/v1/connections").json())[-1] == "c1"


def test_post_minimal_fills_nulls(pvc: Client) -> None:
    body = pvc.post("/api/v1/connections", json={"connection_id": "m", "conn_type": "fs"}).json()
    assert body == {"connection_id": "m", "conn_type": "fs", "description": None, "host": None, "login": None,
                    "schema": None, "port": None, "extra": None}


@pytest.mark.parametrize("connection_id", ["dt bad id", "conn-ä", "日本", "c" * 250])
def test_post_unusual_ids_round_trip(pvc: Client, connection_id: str) -> None:
    body = {"connection_id": connection_id, "conn_type": "http"}
    assert pvc.post("/api/v1/connections", json=body).status_code == 200
    assert pvc.get(f"/api/v1/connections/{quote(connection_id)}").json()["connection_id"] == connection_id
    assert pvc.delete(f"/api/v1/connections/{quote(connection_id)}").status_code == 204


@pytest.mark.parametrize(("body", "status", "title", "detail"), [
    ({"connection_id": "x"}, 400, "Bad Request", "{'conn_type': ['Missing data for required field.']}"),
    ({}, 400, "Bad Request", "{'connection_id': ['Missing data for required field.'], "
                             "'conn_type': ['Missing data for required field.']}"),
    ({"connection_id": "x", "conn_type": "fs", "foo": 1}, 400, "Bad Request", "{'foo': ['Unknown field.']}"),
    ({"connection_id": "x", "conn_type": "fs", "conn_id": "y"}, 400, "Bad Request",
     "{'conn_id': ['Unknown field.']}"),
    ({"connection_id": "x", "conn_type": "fs", "port": "eighty"}, 400, "Bad Request",
     "'eighty' is not of type 'integer' - 'port'"),
    ({"connection_id": "x", "conn_type": "fs", "port": 80.5}, 400, "Bad Request",
     "80.5 is not of type 'integer' - 'port'"),
    ({"connection_id": "x", "conn_type": "fs", "password": None}, 400, "Bad Request",
     "None is not of type 'string' - 'password'"),
    ({"connection_id": None, "conn_type": "fs"}, 400, "Bad Request",
     "None is not of type 'string' - 'connection_id'"),
    ({"connection_id": "x", "conn_type": "fs", "extra": {"a": 1}}, 400, "Bad Request",
     "{'a': 1} is not of type 'string' - 'extra'"),
    ({"connection_id": "c" * 251, "conn_type": "fs"}, 400, "Bad Request",
     "{'connection_id': ['Longer than maximum length 250.']}"),
    ({"connection_id": "x", "conn_type": "fs", "host": "h" * 501}, 400, "Bad Request",
     "{'host': ['Longer than maximum length 500.']}"),
    ({"connection_id": "warehouse", "conn_type": "postgres"}, 409, "Conflict",
     "Connection already exist. ID: warehouse"),
    ("not an object", 400, "Bad Request", "'not an object' is not of type 'object'"),
])
def test_post_refusals_leave_the_store_unchanged(pvc: Client, body: Any, status: int, title: str,
                                                 detail: str) -> None:
    before = connections_table(pvc)
    response = pvc.post("/api/v1/connections", json=body)
    assert response.status_code == status
    assert (response.json()["title"], response.json()["detail"]) == (title, detail)
    assert connections_table(pvc) == before


def test_post_malformed_json(pvc: Client) -> None:
    before = connections_table(pvc)
    response = pvc.post("/api/v1/connections", content=b"{", headers={"content-type": "application/json"})
    assert (response.status_code, response.json()["detail"]) == (400, "Request body is not valid JSON")
    assert connections_table(pvc) == before


# --- patch_connection -------------------------------------------------------------------------

def patch(client: Client, connection_id: str, body: Any, mask: str | None = None) -> Any:
    params = {"update_mask": mask} if mask is not None else None
    return client.patch(f"/api/v1/connections/{quote(connection_id)}", params=params, json=body)


def test_patch_without_mask_writes_only_the_fields_sent(pvc: Client) -> None:
    body = patch(pvc, "warehouse", {"connection_id": "warehouse", "conn_type": "mysql", "host": "h2",
                                    "port": 3306}).json()
    assert body == {**WAREHOUSE, "conn_type": "mysql", "host": "h2", "port": 3306}
    body = patch(pvc, "warehouse", {"host": "h3"}).json()  # partial load: the id is not required
    assert (body["host"], body["conn_type"]) == ("h3", "mysql")
    assert patch(pvc, "warehouse", {"port": None, "extra": None}).json()["extra"] is None
    assert stored(pvc, "warehouse").port is None


def test_patch_password_is_stored_never_sent(pvc: Client) -> None:
    body = patch(pvc, "warehouse", {"password": "new-pw"}).json()
    assert "password" not in body
    assert stored(pvc, "warehouse").password == "new-pw"


@pytest.mark.parametrize(("mask", "body", "changed"), [
    ("host", {"connection_id": "warehouse", "conn_type": "http", "host": "h3", "port": 1}, {"host": "h3"}),
    ("login,schema", {"conn_type": "mysql", "login": "u9", "schema": "s9"}, {"login": "u9", "schema": "s9"}),
    (" login , schema ", {"login": "u9", "schema": "s9"}, {"login": "u9", "schema": "s9"}),
    ("extra", {"extra": '{"token": "t"}'}, {"extra": '{"token": "***"}'}),
    ("description", {"description": None}, {"description": None}),
])
def test_patch_with_mask_writes_only_masked_fields(pvc: Client, mask: str, body: dict[str, Any],
                                                   changed: dict[str, Any]) -> None:
    response = patch(pvc, "warehouse", body, mask)
    assert (response.status_code, response.json()) == (200, {**WAREHOUSE, **changed})
    assert pvc.get("/api/v1/connections/warehouse").json() == response.json()


@pytest.mark.parametrize(("connection_id", "body", "mask", "status", "detail"), [
    ("warehouse", {"connection_id": "other", "conn_type": "mysql"}, None, 400, "The connection_id cannot be updated."),
    ("warehouse", {"connection_id": ""}, None, 400, "The connection_id cannot be updated."),
    ("warehouse", {"connection_id": "warehouse"}, "connection_id", 400,
     "'connection_id' is unknown or cannot be updated."),
    ("warehouse", {"host": "h"}, "conn_id", 400, "'conn_id' is unknown or cannot be updated."),
    ("warehouse", {"host": "h"}, "port", 400, "'port' is unknown or cannot be updated."),
    ("warehouse", {"host": "h"}, "host,bogus", 400, "'bogus' is unknown or cannot be updated."),
    ("warehouse", {"host": "h"}, "", 400, "'' is unknown or cannot be updated."),
    ("warehouse", {"host": "h", "foo": 1}, None, 400, "{'foo': ['Unknown field.']}"),
    ("warehouse", {"schema": "s" * 501}, None, 400, "{'schema': ['Longer than maximum length 500.']}"),
    ("nope", {"connection_id": "nope", "conn_type": "mysql"}, None, 404,
     "The Connection with connection_id: `nope` was not found"),
    ("nope", {"connection_id": "other"}, "host", 404, "The Connection with connection_id: `nope` was not found"),
    ("nope", {"foo": 1}, None, 400, "{'foo': ['Unknown field.']}"),  # the body load comes first
    ("warehouse", {"port": "80"}, None, 400, "'80' is not of type 'integer' - 'port'"),
])
def test_patch_refusals_leave_the_store_unchanged(pvc: Client, connection_id: str, body: dict[str, Any],
                                                  mask: str | None, status: int, detail: str) -> None:
    before = connections_table(pvc)
    response = patch(pvc, connection_id, body, mask)
    assert (response.status_code, response.json()["detail"]) == (status, detail)
    assert connections_table(pvc) == before


# --- delete_connection ------------------------------------------------------------------------

def test_delete_then_404(pvc: Client) -> None:
    response = pvc.delete("/api/v1/connections/mail")
    assert (response.status_code, response.content) == (204, b"")
    assert pvc.get("/api/v1/connections/mail").status_code == 404
    assert pvc.delete("/api/v1/connections/mail").json()["title"] == "Connection not found"
    assert ids(pvc.get("/api/v1/connections").json()) == SEEDED[:3]


# --- test_connection --------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "expected"), [
    ({"connection_id": "t", "conn_type": "sqlite", "host": ":memory:"},
     {"status": True, "message": "Connection successfully tested"}),
    ({"connection_id": "t", "conn_type": "postgres", "host": "h", "password": "p"},
     {"status": True, "message": "Connection successfully tested"}),
    ({"connection_id": "t", "conn_type": "http", "host": "example.com"},
     {"status": True, "message": "Connection successfully tested"}),  # only the network could say otherwise
    ({"connection_id": "t", "conn_type": "imap"},
     {"status": False, "message": "Hook ImapHook doesn't implement or inherit test_connection method"}),
    ({"connection_id": "t", "conn_type": "fs"}, {"status": False, "message": 'Unknown hook type "fs"'}),
    # known to Airflow, but its provider is not installed here
    ({"connection_id": "t", "conn_type": "mysql"}, {"status": False, "message": 'Unknown hook type "mysql"'}),
    ({"connection_id": "warehouse", "conn_type": "bogus"}, {"status": False, "message": 'Unknown hook type "bogus"'}),
])
def test_test_connection_answers_like_airflow_and_stores_nothing(pvc: Client, body: dict[str, Any],
                                                                 expected: dict[str, Any]) -> None:
    before = connections_table(pvc)
    response = pvc.post("/api/v1/connections/test", json=body)
    assert (response.status_code, response.json()) == (200, expected)
    assert connections_table(pvc) == before
    assert audit_rows(pvc) == []


FAILED_SQLITE = {"status": False, "message": "unable to open database file"}
PASSED = {"status": True, "message": "Connection successfully tested"}


@pytest.mark.parametrize(("fields", "expected"), [
    # all observed on a real 2.5.3 (sqlite and http providers)
    ({"conn_type": "sqlite"}, PASSED),  # no host: an in-memory database
    ({"conn_type": "sqlite", "host": ""}, PASSED),
    ({"conn_type": "sqlite", "host": "/nonexistent-dir-of-mockflow/x.db"}, FAILED_SQLITE),
    ({"conn_type": "sqlite", "host": "DIR"}, FAILED_SQLITE),  # a directory
    ({"conn_type": "sqlite", "host": "DIR/new.db"}, PASSED),  # sqlite3 would create it
    ({"conn_type": "sqlite", "host": "relative.db"}, PASSED),
    ({"conn_type": "http"}, {"status": False, "message": "Invalid URL 'http://': No host supplied"}),
    ({"conn_type": "http", "host": "", "port": 8080},
     {"status": False, "message": "Invalid URL 'http://:8080': No host supplied"}),
    ({"conn_type": "http", "schema": "HTTPS"},
     {"status": False, "message": "Invalid URL 'HTTPS://': No host supplied"}),
    ({"conn_type": "http", "host": "http://"}, {"status": False, "message": "Invalid URL 'http://': No host supplied"}),
    ({"conn_type": "http", "schema": "ftp"}, {"status": False, "message": "No host specified."}),
    ({"conn_type": "http", "host": "ftp://"}, {"status": False, "message": "No host specified."}),
    ({"conn_type": "http", "schema": "ftp", "host": "h"}, {"status": False, "message": "Not supported URL scheme ftp"}),
])
def test_test_connection_outcomes_decided_without_a_network(pvc: Client, tmp_path: Any, fields: dict[str, Any],
                                                            expected: dict[str, Any]) -> None:
    body = {"connection_id": "t", **fields}
    if "host" in body:
        body["host"] = body["host"].replace("DIR", str(tmp_path))
    response = pvc.post("/api/v1/connections/test", json=body)
    assert (response.status_code, response.json()) == (200, expected)
    assert list(tmp_path.iterdir()) == []  # nothing is created


def test_test_connection_outcome_scripted_by_a_fault_rule(pvc: Client) -> None:
    rule = {"match": {"operation_id": "test_connection", "body": {"host": "db.internal"}},
            "effect": {"body": {"status": False, "message": "could not connect to server: Connection refused"}}}
    assert pvc.post("/_mockflow/faults", json=rule).status_code == 201
    body = {"connection_id": "t", "conn_type": "postgres", "host": "db.internal"}
    assert pvc.post("/api/v1/connections/test", json=body).json() == {
        "status": False, "message": "could not connect to server: Connection refused"}
    assert pvc.post("/api/v1/connections/test", json={**body, "host": "db.other"}).json() == PASSED


def test_test_connection_without_providers_knows_no_hook(make_client: Callable[..., Client],
                                                         tmp_path: Any) -> None:
    (tmp_path / "providers.json").write_text(json.dumps([]))
    client = make_client(tmp_path)
    body = {"connection_id": "t", "conn_type": "sqlite"}
    assert client.post("/api/v1/connections/test", json=body).json()["message"] == 'Unknown hook type "sqlite"'


@pytest.mark.parametrize(("body", "detail"), [
    ({"connection_id": "t"}, "{'conn_type': ['Missing data for required field.']}"),
    ({"conn_type": "sqlite"}, "{'connection_id': ['Missing data for required field.']}"),
    ({"connection_id": "t", "conn_type": "sqlite", "x": 1}, "{'x': ['Unknown field.']}"),
    ({"connection_id": "t", "conn_type": "sqlite", "port": "1"}, "'1' is not of type 'integer' - 'port'"),
])
def test_test_connection_bad_bodies(pvc: Client, body: dict[str, Any], detail: str) -> None:
    response = pvc.post("/api/v1/connections/test", json=body)
    assert (response.status_code, response.json()["detail"]) == (400, detail)


def test_test_connection_needs_create_permission(make_client: Callable[..., Client]) -> None:
    body = {"connection_id": "t", "conn_type": "fs"}
    assert make_client(MINIMAL, PVC, auth=("viewer", "viewer")).post(
        "/api/v1/connections/test", json=body).status_code == 403
    assert make_client(MINIMAL, PVC, auth=("op", "op")).post("/api/v1/connections/test", json=body).status_code == 200


# --- audit rows -------------------------------------------------------------------------------

def test_each_write_writes_one_audit_row_even_when_it_then_fails(pvc: Client) -> None:
    pvc.post("/api/v1/connections", json=FULL)
    pvc.post("/api/v1/connections", json=FULL)  # 409: still audited
    patch(pvc, "c1", {"host": "h"})
    patch(pvc, "c1", {"host": "h", "port": 1}, "host,port")
    patch(pvc, "nope", {"host": "h"})  # 404: still audited
    pvc.delete("/api/v1/connections/c1")
    assert audit_rows(pvc) == [
        ("connection.create", "admin", "[]"),
        ("connection.create", "admin", "[]"),
        ("connection.edit", "admin", "[('connection_id', 'c1')]"),
        ("connection.edit", "admin", "[('update_mask', 'host,port'), ('connection_id', 'c1')]"),
        ("connection.edit", "admin", "[('connection_id', 'nope')]"),
        ("connection.delete", "admin", "[('connection_id', 'c1')]"),
    ]


def test_audit_rows_quote_the_query_string_and_mask_known_secrets(pvc: Client) -> None:
    pvc.post("/api/v1/connections", params={"note": "x", "password": "p"}, json={"connection_id": "a",
                                                                                 "conn_type": "fs"})
    # hunter2pw is warehouse's password, tok_8812 a sensitive value of its extra
    patch(pvc, "hunter2pw_tok_8812_x", {"host": "h"})
    assert audit_rows(pvc) == [
        ("connection.create", "admin", "[('note', 'x'), ('password', '***')]"),
        ("connection.edit", "admin", "[('connection_id', '***_***_x')]"),
    ]


def test_refused_and_read_requests_write_no_audit_row(make_client: Callable[..., Client]) -> None:
    admin = make_client(MINIMAL, PVC)
    admin.get("/api/v1/connections")
    admin.get("/api/v1/connections/warehouse")
    admin.post("/api/v1/connections", json={"connection_id": "x", "conn_type": "fs", "port": "1"})
    assert audit_rows(admin) == []
    viewer = make_client(MINIMAL, PVC, auth=("viewer", "viewer"))
    assert viewer.post("/api/v1/connections", json={"connection_id": "x", "conn_type": "fs"}).status_code == 403
    assert audit_rows(viewer) == []


# --- permissions ------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/api/v1/connections", None),
    ("GET", "/api/v1/connections/warehouse", None),
    ("POST", "/api/v1/connections", {"connection_id": "x", "conn_type": "fs"}),
    ("PATCH", "/api/v1/connections/warehouse", {"host": "h"}),
    ("DELETE", "/api/v1/connections/warehouse", None),
    ("POST", "/api/v1/connections/test", {"connection_id": "x", "conn_type": "fs"}),
])
@pytest.mark.parametrize(("user", "status"), [("viewer", 403), ("user", 403), ("op", None), ("nobody", 401)])
def test_only_op_and_admin_reach_connections(make_client: Callable[..., Client], method: str, path: str,
                                              body: Any, user: str, status: int | None) -> None:
    client = make_client(MINIMAL, PVC, auth=(user, user))
    before = connections_table(client)
    response = client.request(method, path, json=body)
    if status is None:
        assert response.status_code in (200, 204)
    else:
        assert response.status_code == status
        assert connections_table(client) == before


def test_an_empty_connection_id_is_stored_and_only_the_list_shows_it(pvc: Client) -> None:
    made = pvc.post("/api/v1/connections", json={"connection_id": "", "conn_type": "http"})  # real 2.5.3: 200
    assert (made.status_code, made.json()["connection_id"]) == (200, "")
    listed = pvc.get("/api/v1/connections", params={"limit": 100}).json()["connections"]
    assert "" in [conn["connection_id"] for conn in listed]
