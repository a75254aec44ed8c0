"""DAGs, tasks and DAG sources: get_dags, patch_dags, get_dag, patch_dag, delete_dag, get_dag_details,
get_tasks, get_task, get_dag_source (behaviour reference, DAG and DagSource)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockflow.fixtureset.export import export_state
from mockflow.fixtureset.load import check_fixture_sets
from mockflow.store.dags import file_token, fileloc_of_token, like_matcher
from mockflow.store.state import State
from tests.conftest import FIXTURES, Client, build_app

DAGS_BASIC = FIXTURES / "dags_basic"
DOCS = "https://airflow.apache.org/docs/apache-airflow/2.5.3/stable-rest-api-ref.html#section/Errors/"
ACTIVE = ["CRM_Sync", "crm_sync_full", "etl_orders", "fan_out", "maintenance", "orders_report"]  # dag_id order
ORDERS_FILE = "/opt/airflow/dags/etl/orders.py"
RECORDED_TOKEN = ".eJzTz8_XL0pMzi9KSS0qBgAvWwVY.recorded-by-a-real-server"  # etl_orders' fixture token


@pytest.fixture
def client(make_client: Callable[..., Client]) -> Client:
    return make_client(DAGS_BASIC)


@pytest.fixture
def as_user(make_client: Callable[..., Client]) -> Callable[[str], TestClient]:
    def make(username: str) -> Client:
        return make_client(DAGS_BASIC, auth=(username, username))

    return make


def state_of(client: Client) -> State:
    return client.app.store.state


def snapshot(client: Client) -> State:
    """The store, minus the login counters every authenticated call moves."""
    return dataclasses.replace(client.app.store.snapshot(), users={})


def ids(body: dict[str, Any]) -> list[str]:
    return [dag["dag_id"] for dag in body["dags"]]


def problem(status: int, type_name: str, title: str | None, detail: str | None) -> dict[str, Any]:
    return {"status": status, "type": DOCS + type_name, "title": title, "detail": detail}


def bad_request(detail: str | None, title: str | None = "Bad Request") -> dict[str, Any]:
    return problem(400, "BadRequest", title, detail)


# --- the DAG object -------------------------------------------------------------------------------

ETL_ORDERS: dict[str, Any] = {
    "dag_id": "etl_orders",
    "root_dag_id": None,
    "is_paused": False,
    "is_active": True,
    "is_subdag": False,
    "fileloc": ORDERS_FILE,
    "file_token": file_token(ORDERS_FILE),
    "owners": ["data-eng"],
    "description": "Load the daily orders extract into the warehouse.",
    "schedule_interval": {"__type": "CronExpression", "value": "0 6 * * *"},
    "timetable_description": "At 06:00",
    "tags": [{"name": "etl"}, {"name": "orders"}],
    "max_active_tasks": 8,
    "max_active_runs": 1,
    "has_import_errors": False,
    "has_task_concurrency_limits": False,
    "last_parsed_time": "2024-03-04T07:59:58.654321+00:00",
    "last_pickled": None,
    "last_expired": None,
    "scheduler_lock": None,
    "pickle_id": None,
    "default_view": "grid",
    "next_dagrun": "2024-03-04T06:00:00+00:00",
    "next_dagrun_data_interval_start": "2024-03-04T06:00:00+00:00",
    "next_dagrun_data_interval_end": "2024-03-05T06:00:00+00:00",
    "next_dagrun_create_after": "2024-03-05T06:00:00+00:00",
}


def test_get_dag_returns_the_full_dag_object(client: Client) -> None:
    response = client.get("/api/v1/dags/etl_orders")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == ETL_ORDERS


def test_fields_a_fixture_leaves_out_get_the_real_servers_defaults(client: Client) -> None:
    body = client.get("/api/v1/dags/crm_sync_full").json()
    assert body["file_token"] == file_token("/opt/airflow/dags/crm/crm_sync.py")
    assert {key: body[key] for key in ("default_view", "has_task_concurrency_limits", "next_dagrun", "last_parsed_time",
                                       "description", "root_dag_id", "is_active")} == {
        "default_view": "grid", "has_task_concurrency_limits": False, "next_dagrun": None, "last_parsed_time": None,
        "description": None, "root_dag_id": None, "is_active": True}
    assert body["schedule_interval"] == {"__type": "CronExpression", "value": "@weekly"}


def test_unscheduled_and_dataset_and_timedelta_schedules(client: Client) -> None:
    assert client.get("/api/v1/dags/CRM_Sync").json()["schedule_interval"] is None
    report = client.get("/api/v1/dags/orders_report").json()
    assert report["schedule_interval"] == {"__type": "CronExpression", "value": "Dataset"}
    assert report["timetable_description"] == "Triggered by datasets"
    assert client.get("/api/v1/dags/fan_out").json()["schedule_interval"] == {
        "__type": "TimeDelta", "days": 1, "seconds": 0, "microseconds": 0}


def test_has_import_errors_follows_the_import_errors_of_the_dags_file(client: Client) -> None:
    assert client.get("/api/v1/dags/legacy_import?").json()["has_import_errors"] is True
    state_of(client).import_errors.clear()
    assert client.get("/api/v1/dags/legacy_import").json()["has_import_errors"] is False


def test_subdags_are_hidden_from_lists_but_retrievable(client: Client) -> None:
    body = client.get("/api/v1/dags/maintenance.sweep").json()
    assert (body["is_subdag"], body["root_dag_id"]) == (True, "maintenance")
    assert "maintenance.sweep" not in ids(client.get("/api/v1/dags", params={"only_active": "false"}).json())


@pytest.mark.parametrize("path", ["/api/v1/dags/nope", "/api/v1/dags/nope/details", "/api/v1/dags/ETL_ORDERS",
                                  "/api/v1/dags/" + "x" * 300, "/api/v1/dags/%C3%BCnic%C3%B8de"])
def test_get_dag_and_details_of_a_missing_dag(client: Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    dag_id = path.rsplit("/", 2)[-2] if path.endswith("/details") else path.rsplit("/", 1)[-1]
    dag_id = dag_id.replace("%C3%BC", "ü").replace("%C3%B8", "ø")
    assert response.json() == problem(404, "NotFound", "DAG not found", f"The DAG with dag_id: {dag_id} was not found")


# --- get_dag_details --------------------------------------------------------------------------------

DETAILS_KEYS = {
    "catchup", "concurrency", "dag_id", "dag_run_timeout", "default_view", "description", "doc_md", "end_date",
    "file_token", "fileloc", "is_active", "is_paused", "is_paused_upon_creation", "is_subdag", "last_parsed",
    "max_active_runs", "max_active_tasks", "orientation", "owners", "params", "pickle_id",
    "render_template_as_native_obj", "schedule_interval", "start_date", "tags", "timezone",
}


def test_details_have_the_real_servers_keys_and_values(client: Client) -> None:
    body = client.get("/api/v1/dags/etl_orders/details").json()
    assert set(body) == DETAILS_KEYS  # root_dag_id, next_dagrun*, timetable_description... are absent
    assert body == {
        "catchup": False, "concurrency": 8, "dag_id": "etl_orders",
        "dag_run_timeout": {"__type": "TimeDelta", "days": 0, "seconds": 7200, "microseconds": 0},
        "default_view": "grid", "description": "Load the daily orders extract into the warehouse.",
        "doc_md": "# Orders ETL\nRuns every morning.", "end_date": None, "file_token": file_token(ORDERS_FILE),
        "fileloc": ORDERS_FILE, "is_active": True, "is_paused": False, "is_paused_upon_creation": None,
        "is_subdag": False, "last_parsed": "2024-03-04T07:59:58.123456+00:00", "max_active_runs": 1,
        "max_active_tasks": 8, "orientation": "LR", "owners": ["data-eng"],
        "params": {"region": {"__class": "airflow.models.param.Param", "value": "eu-west-1",
                              "description": "AWS region", "schema": {"type": "string"}}},
        "pickle_id": None, "render_template_as_native_obj": False,
        "schedule_interval": {"__type": "CronExpression", "value": "0 6 * * *"},
        "start_date": "2024-03-01T00:00:00+00:00", "tags": [{"name": "etl"}, {"name": "orders"}],
        "timezone": "Timezone('UTC')",
    }


def test_details_defaults_and_pause_state(client: Client) -> None:
    body = client.get("/api/v1/dags/legacy_import/details").json()
    assert set(body) == DETAILS_KEYS
    assert {key: body[key] for key in ("catchup", "timezone", "orientation", "params", "dag_run_timeout", "doc_md",
                                       "end_date", "is_active", "is_paused", "concurrency")} == {
        "catchup": True, "timezone": "Timezone('UTC')", "orientation": "LR", "params": {}, "dag_run_timeout": None,
        "doc_md": None, "end_date": "2023-12-31T00:00:00+00:00", "is_active": False, "is_paused": True,
        "concurrency": 16}
    client.patch("/api/v1/dags/legacy_import", json={"is_paused": False})
    assert client.get("/api/v1/dags/legacy_import/details").json()["is_paused"] is False


# --- get_dags -------------------------------------------------------------------------------------

def test_list_is_active_non_subdags_by_dag_id(client: Client) -> None:
    body = client.get("/api/v1/dags").json()
    assert ids(body) == ACTIVE
    assert body["total_entries"] == 6
    assert body["dags"][2] == ETL_ORDERS


@pytest.mark.parametrize(("params", "expected"), [
    ({"only_active": "false"}, ["CRM_Sync", "crm_sync_full", "etl_orders", "fan_out", "legacy_import", "maintenance",
                                "orders_report"]),
    ({"only_active": "TRUE"}, ACTIVE),
    ({"dag_id_pattern": "crm"}, ["CRM_Sync", "crm_sync_full"]),  # case-insensitive substring
    ({"dag_id_pattern": "ORDERS"}, ["etl_orders", "orders_report"]),
    ({"dag_id_pattern": "crm_s"}, ["CRM_Sync", "crm_sync_full"]),
    ({"dag_id_pattern": "l_o"}, ["etl_orders"]),
    ({"dag_id_pattern": "n_o%t"}, ["fan_out"]),  # `_` and `%` are SQL wildcards
    ({"dag_id_pattern": "_"}, ACTIVE),
    ({"dag_id_pattern": "%"}, ACTIVE),
    ({"dag_id_pattern": ""}, ACTIVE),
    ({"dag_id_pattern": "~"}, []),  # a literal tilde here (PATCH treats it as "all")
    ({"dag_id_pattern": "legacy"}, []),  # inactive
    ({"dag_id_pattern": "legacy", "only_active": "false"}, ["legacy_import"]),
    ({"dag_id_pattern": "sweep", "only_active": "false"}, []),  # subdags never
    ({"dag_id_pattern": "zzz"}, []),
    ({"tags": "crm"}, ["CRM_Sync", "crm_sync_full"]),
    ({"tags": ["mapping", "reporting"]}, ["fan_out", "orders_report"]),  # any of them
    ({"tags": "mapping,reporting"}, ["fan_out", "orders_report"]),
    ({"tags": "etl"}, ["etl_orders"]),
    ({"tags": "etl", "only_active": "false"}, ["etl_orders", "legacy_import"]),
    ({"tags": "ETL"}, []),  # tag names are exact
    ({"tags": "orders", "dag_id_pattern": "report"}, ["orders_report"]),
    ({"order_by": "-dag_id"}, ACTIVE),  # declared but ignored
    ({"order_by": "bogus"}, ACTIVE),
])
def test_list_filters(client: Client, params: dict[str, Any], expected: list[str]) -> None:
    body = client.get("/api/v1/dags", params=params).json()
    assert ids(body) == expected
    assert body["total_entries"] == len(expected)


@pytest.mark.parametrize(("params", "expected"), [
    ({"limit": 2}, ACTIVE[:2]),
    ({"limit": 2, "offset": 3}, ACTIVE[3:5]),
    ({"offset": 5}, ACTIVE[5:]),
    ({"offset": 50}, []),
    ({"limit": 0}, ACTIVE),  # 0 means the fallback page size
    ({"limit": 5000}, ACTIVE),  # clamped to the maximum
])
def test_list_pagination(client: Client, params: dict[str, Any], expected: list[str]) -> None:
    body = client.get("/api/v1/dags", params=params).json()
    assert (ids(body), body["total_entries"]) == (expected, 6)


@pytest.mark.parametrize(("query", "expected"), [
    ("limit=-1", bad_request(None, title="Page limit must be a positive integer")),
    ("offset=-1", bad_request("-1 is less than the minimum of 0\n\nFailed validating 'minimum' in schema:\n"
                              "    {'minimum': 0, 'type': 'integer'}\n\nOn instance:\n    -1")),
    ("only_active=maybe", bad_request("Wrong type, expected 'boolean' for query parameter 'only_active'")),
    ("limit=ten", bad_request("Wrong type, expected 'integer' for query parameter 'limit'")),
    ("paused=true", bad_request("Extra query parameter(s) paused not in spec", title=None)),
])
def test_list_bad_parameters(client: Client, query: str, expected: dict[str, Any]) -> None:
    response = client.get(f"/api/v1/dags?{query}")
    assert (response.status_code, response.json()) == (400, expected)


def test_list_keeps_only_the_dags_a_user_may_read(as_user: Callable[[str], TestClient]) -> None:
    body = as_user("orders").get("/api/v1/dags").json()
    assert (ids(body), body["total_entries"]) == (["etl_orders", "orders_report"], 2)
    assert ids(as_user("viewer").get("/api/v1/dags").json()) == ACTIVE


@pytest.mark.parametrize(("user", "status"), [("nobody", 403), ("wrong", 401)])
def test_list_needs_some_dag_access(as_user: Callable[[str], TestClient], user: str, status: int) -> None:
    client = as_user(user)
    if user == "wrong":
        client.auth = ("admin", "wrong")
    assert client.get("/api/v1/dags").status_code == status


def test_dag_level_permissions_on_single_dags(as_user: Callable[[str], TestClient]) -> None:
    orders = as_user("orders")
    assert orders.get("/api/v1/dags/etl_orders").status_code == 200
    assert orders.get("/api/v1/dags/etl_orders/details").status_code == 200
    assert orders.get("/api/v1/dags/CRM_Sync").status_code == 403
    assert orders.get("/api/v1/dags/nope").status_code == 403  # no permission on an unknown DAG either


# --- patch_dag ------------------------------------------------------------------------------------

@pytest.mark.parametrize("query", ["", "?update_mask=is_paused"])
def test_patch_dag_pauses_and_unpauses(client: Client, query: str) -> None:
    response = client.patch(f"/api/v1/dags/etl_orders{query}", json={"is_paused": True})
    assert response.status_code == 200
    assert response.json() == {**ETL_ORDERS, "is_paused": True}
    assert state_of(client).dags["etl_orders"].is_paused is True
    assert client.patch(f"/api/v1/dags/etl_orders{query}", json={"is_paused": False}).json()["is_paused"] is False
    assert client.get("/api/v1/dags/etl_orders").json()["is_paused"] is False


def test_patch_dag_writes_no_audit_row(client: Client) -> None:
    before = dict(state_of(client).event_logs)
    client.patch("/api/v1/dags/etl_orders", json={"is_paused": True})
    assert state_of(client).event_logs == before


def test_patch_dag_accepts_null_like_the_real_server(client: Client) -> None:
    assert client.patch("/api/v1/dags/etl_orders", json={"is_paused": None}).json()["is_paused"] is None
    assert client.get("/api/v1/dags/etl_orders").json()["is_paused"] is None


def test_patch_of_a_subdag_and_of_an_inactive_dag(client: Client) -> None:
    assert client.patch("/api/v1/dags/maintenance.sweep", json={"is_paused": False}).json()["is_paused"] is False
    assert client.patch("/api/v1/dags/legacy_import", json={"is_paused": False}).json()["is_paused"] is False


ONLY_IS_PAUSED = "Only `is_paused` field can be updated through the REST API"
MISSING_IS_PAUSED = "{'is_paused': ['Missing data for required field.']}"

PATCH_ERRORS = [
    ("etl_orders", "update_mask=description", {"is_paused": True}, 400, bad_request(ONLY_IS_PAUSED)),
    ("etl_orders", "update_mask=is_paused,description", {"is_paused": True}, 400, bad_request(ONLY_IS_PAUSED)),
    ("etl_orders", "update_mask=%20is_paused", {"is_paused": True}, 400, bad_request(ONLY_IS_PAUSED)),  # not stripped
    ("etl_orders", "update_mask=", {"is_paused": True}, 400, bad_request(ONLY_IS_PAUSED)),
    ("etl_orders", "", {"is_paused": True, "description": "x"}, 400,
     bad_request("Property is read-only - 'description'")),
    ("etl_orders", "", {"is_paused": True, "dag_id": "x"}, 400, bad_request("Property is read-only - 'dag_id'")),
    ("etl_orders", "", {"is_paused": True, "schedule_interval": None}, 400,
     bad_request("Property is read-only - 'schedule_interval'")),
    ("etl_orders", "", {"is_paused": True, "colour": "red"}, 400, bad_request("{'colour': ['Unknown field.']}")),
    ("etl_orders", "", {"is_paused": "maybe"}, 400, bad_request("'maybe' is not of type 'boolean' - 'is_paused'")),
    ("etl_orders", "", {"is_paused": 1}, 400, bad_request("1 is not of type 'boolean' - 'is_paused'")),
    ("etl_orders", "", {}, 400, bad_request(MISSING_IS_PAUSED)),  # the real server crashes (500)
    ("etl_orders", "update_mask=is_paused", {}, 400, bad_request(MISSING_IS_PAUSED)),
    ("nope", "", {}, 404, problem(404, "NotFound", "Dag with id: 'nope' not found", None)),  # 404 before the crash
    ("nope", "update_mask=is_paused", {}, 400, bad_request(MISSING_IS_PAUSED)),
    ("nope", "", {"is_paused": True}, 404, problem(404, "NotFound", "Dag with id: 'nope' not found", None)),
    ("nope", "", {"is_paused": "x"}, 400, bad_request("'x' is not of type 'boolean' - 'is_paused'")),  # body first
    ("nope", "update_mask=description", {"is_paused": True}, 400, bad_request(ONLY_IS_PAUSED)),
    ("ünïcødé", "", {"is_paused": True}, 404, problem(404, "NotFound", "Dag with id: 'ünïcødé' not found", None)),
]


@pytest.mark.parametrize(("dag_id", "query", "body", "status", "expected"), PATCH_ERRORS)
def test_patch_dag_errors_change_nothing(client: Client, dag_id: str, query: str, body: Any, status: int,
                                         expected: dict[str, Any]) -> None:
    before = snapshot(client)
    response = client.patch(f"/api/v1/dags/{dag_id}?{query}", json=body)
    assert (response.status_code, response.json()) == (status, expected)
    assert snapshot(client) == before


@pytest.mark.parametrize(("content", "detail"), [
    (b"{not json", "Request body is not valid JSON"),
    (b"null", "Request body is not valid JSON"),
    (b"[]", "[] is not of type 'object'"),
    (b"", "None is not of type 'object'"),
])
def test_patch_dag_malformed_bodies(client: Client, content: bytes, detail: str) -> None:
    before = snapshot(client)
    response = client.patch("/api/v1/dags/etl_orders", content=content, headers={"content-type": "application/json"})
    assert (response.status_code, response.json()) == (400, bad_request(detail))
    assert snapshot(client) == before


@pytest.mark.parametrize(("user", "dag_id", "status"), [
    ("viewer", "etl_orders", 403), ("orders", "etl_orders", 200), ("orders", "orders_report", 403),
    ("nobody", "etl_orders", 403),
])
def test_patch_dag_permissions(as_user: Callable[[str], TestClient], user: str, dag_id: str, status: int) -> None:
    client = as_user(user)
    before = snapshot(client)
    assert client.patch(f"/api/v1/dags/{dag_id}", json={"is_paused": True}).status_code == status
    if status != 200:
        assert snapshot(client) == before


# --- patch_dags -----------------------------------------------------------------------------------

def paused(client: Client) -> dict[str, bool | None]:
    return {dag_id: dag.is_paused for dag_id, dag in state_of(client).dags.items()}


def test_patch_dags_tilde_changes_every_active_dag(client: Client) -> None:
    before = paused(client)
    body = client.patch("/api/v1/dags?dag_id_pattern=~", json={"is_paused": True}).json()
    assert (ids(body), body["total_entries"]) == (ACTIVE, 6)
    assert all(dag["is_paused"] is True for dag in body["dags"])
    after = paused(client)
    assert all(after[dag_id] is True for dag_id in ACTIVE)
    # inactive DAGs and subdags are not selected
    assert after["legacy_import"] == before["legacy_import"] and after["maintenance.sweep"] is True
    client.patch("/api/v1/dags?dag_id_pattern=~&only_active=false", json={"is_paused": False})
    assert paused(client)["legacy_import"] is False
    assert paused(client)["maintenance.sweep"] is True


def test_patch_dags_changes_only_the_answered_page(client: Client) -> None:
    body = client.patch("/api/v1/dags?dag_id_pattern=%25&limit=2&offset=1&update_mask=is_paused",
                        json={"is_paused": False}).json()
    assert (ids(body), body["total_entries"]) == (["crm_sync_full", "etl_orders"], 6)
    assert [dag["is_paused"] for dag in body["dags"]] == [False, False]
    after = paused(client)
    assert (after["CRM_Sync"], after["crm_sync_full"], after["maintenance"]) == (True, False, True)


@pytest.mark.parametrize(("query", "expected"), [
    ("dag_id_pattern=crm", ["CRM_Sync", "crm_sync_full"]),
    ("dag_id_pattern=orders&tags=reporting", ["orders_report"]),
    ("dag_id_pattern=~&tags=crm,mapping", ["CRM_Sync", "crm_sync_full", "fan_out"]),
    ("dag_id_pattern=", ACTIVE),
    ("dag_id_pattern=zzz", []),  # an empty page, never a 404
])
def test_patch_dags_filters(client: Client, query: str, expected: list[str]) -> None:
    response = client.patch(f"/api/v1/dags?{query}", json={"is_paused": False})
    assert response.status_code == 200
    assert ids(response.json()) == expected
    after = paused(client)
    assert [dag_id for dag_id in ACTIVE if after[dag_id] is False and dag_id not in expected] == [
        dag_id for dag_id in ("etl_orders", "fan_out", "orders_report") if dag_id not in expected]


def test_patch_dags_changes_only_editable_dags(as_user: Callable[[str], TestClient]) -> None:
    client = as_user("orders")  # reads etl_orders and orders_report, edits etl_orders only
    body = client.patch("/api/v1/dags?dag_id_pattern=orders", json={"is_paused": True}).json()
    assert (ids(body), body["total_entries"]) == (["etl_orders"], 1)
    assert paused(client)["orders_report"] is False


@pytest.mark.parametrize(("query", "body", "expected"), [
    ("", {"is_paused": True}, bad_request("Missing query parameter 'dag_id_pattern'")),
    ("dag_id_pattern=~&update_mask=owners", {"is_paused": True}, bad_request(ONLY_IS_PAUSED)),
    ("dag_id_pattern=~", {}, bad_request(MISSING_IS_PAUSED)),
    ("dag_id_pattern=zzz", {}, bad_request(MISSING_IS_PAUSED)),
    ("dag_id_pattern=~", {"is_paused": True, "x": 1}, bad_request("{'x': ['Unknown field.']}")),
    ("dag_id_pattern=~", {"is_paused": True, "tags": []}, bad_request("Property is read-only - 'tags'")),
    ("dag_id_pattern=~&limit=-1", {"is_paused": True},
     bad_request(None, title="Page limit must be a positive integer")),
    ("dag_id_pattern=~&order_by=dag_id", {"is_paused": True},
     bad_request("Extra query parameter(s) order_by not in spec", title=None)),
])
def test_patch_dags_errors_change_nothing(client: Client, query: str, body: Any, expected: dict[str, Any]) -> None:
    before = snapshot(client)
    response = client.patch(f"/api/v1/dags?{query}", json=body)
    assert (response.status_code, response.json()) == (400, expected)
    assert snapshot(client) == before


def test_patch_dags_as_viewer_is_forbidden(as_user: Callable[[str], TestClient]) -> None:
    client = as_user("viewer")
    before = snapshot(client)
    response = client.patch("/api/v1/dags?dag_id_pattern=~", json={"is_paused": False})
    assert (response.status_code, response.json()) == (403, problem(403, "PermissionDenied", "Forbidden", None))
    assert snapshot(client) == before


# --- delete_dag -----------------------------------------------------------------------------------

def test_delete_dag_cascades_but_keeps_audit_logs_and_datasets(client: Client) -> None:
    state = state_of(client)
    event_logs, events = dict(state.event_logs), set(state.dataset_events)
    response = client.delete("/api/v1/dags/etl_orders")
    assert (response.status_code, response.content) == (204, b"")
    assert "etl_orders" not in state.dags
    for table in (state.dag_runs, state.tis_by_run, state.task_instances, state.xcoms, state.logs):
        assert not [key for key in table if key[0] == "etl_orders"]
    assert "etl_orders" not in state.runs_by_dag
    assert [warning.dag_id for warning in state.dag_warnings] == ["fan_out"]
    assert state.datasets[1].producing_tasks == {}
    assert list(state.datasets[1].consuming_dags) == ["orders_report"]
    assert set(state.dataset_events) == events and state.event_logs == event_logs
    assert [key for key in state.dag_runs if key[0] == "orders_report"]  # other DAGs untouched
    assert client.get("/api/v1/dags/etl_orders").status_code == 404
    assert client.delete("/api/v1/dags/etl_orders").status_code == 404


def test_delete_dag_drops_the_runs_its_dataset_events_created(client: Client) -> None:
    assert client.delete("/api/v1/dags/orders_report").status_code == 204
    state = state_of(client)
    assert state.dataset_events[1].created_dagruns == []
    assert all("orders_report" not in dataset.consuming_dags for dataset in state.datasets.values())


def test_delete_dag_removes_the_import_errors_of_its_file(client: Client) -> None:
    assert client.delete("/api/v1/dags/legacy_import").status_code == 204
    assert state_of(client).import_errors == {}


def test_delete_dag_takes_its_subdags_along(client: Client) -> None:
    assert client.delete("/api/v1/dags/maintenance").status_code == 204
    state = state_of(client)
    assert not [dag_id for dag_id in state.dags if dag_id.startswith("maintenance")]
    assert not [key for key in state.task_instances if key[0].startswith("maintenance")]


def test_deleting_a_subdag_deletes_the_parents_subdag_operator_instances(client: Client) -> None:
    assert client.delete("/api/v1/dags/maintenance.sweep").status_code == 204
    state = state_of(client)
    assert "maintenance" in state.dags
    assert [key[2] for key in state.task_instances if key[0] == "maintenance"] == ["start"]
    run = ("maintenance", "scheduled__2024-03-02T00:00:00+00:00")
    assert list(state.tis_by_run[run]) == [("start", -1)]
    assert not [key for key in state.logs if key[0] == "maintenance"]


def test_the_source_of_a_file_outlives_one_of_its_dags(client: Client) -> None:
    token = file_token("/opt/airflow/dags/crm/crm_sync.py")
    assert client.delete("/api/v1/dags/CRM_Sync").status_code == 204
    response = client.get(f"/api/v1/dagSources/{token}", headers={"Accept": "text/plain"})
    assert (response.status_code, response.text.startswith("from airflow.decorators")) == (200, True)
    assert client.delete("/api/v1/dags/crm_sync_full").status_code == 204
    assert client.get(f"/api/v1/dagSources/{token}", headers={"Accept": "text/plain"}).status_code == 404


def test_delete_dag_refuses_while_a_task_instance_runs(client: Client) -> None:
    before = snapshot(client)
    response = client.delete("/api/v1/dags/fan_out")
    assert (response.status_code, response.json()) == (
        409, problem(409, "AlreadyExists", "Conflict", "Task instances of dag with id: 'fan_out' are still running"))
    assert snapshot(client) == before
    tis = state_of(client).task_instances
    tis.set_state(tis[("fan_out", "scheduled__2024-03-03T00:00:00+00:00", "process_file", 1)], "success")
    assert client.delete("/api/v1/dags/fan_out").status_code == 204


@pytest.mark.parametrize(("user", "dag_id", "status", "title"), [
    ("admin", "nope", 404, "Dag with id: 'nope' not found"),
    ("admin", "ünïcødé", 404, "Dag with id: 'ünïcødé' not found"),
    ("viewer", "etl_orders", 403, "Forbidden"),
    ("orders", "etl_orders", 403, "Forbidden"),  # may edit it, not delete it
])
def test_delete_dag_errors_change_nothing(as_user: Callable[[str], TestClient], user: str, dag_id: str, status: int,
                                          title: str) -> None:
    client = as_user(user)
    before = snapshot(client)
    response = client.delete(f"/api/v1/dags/{dag_id}")
    assert (response.status_code, response.json()["title"], response.json()["detail"]) == (status, title, None)
    assert snapshot(client) == before


def test_delete_dag_without_credentials(client: Client) -> None:
    client.auth = None
    assert client.delete("/api/v1/dags/etl_orders").status_code == 401
    assert "etl_orders" in state_of(client).dags


# --- get_tasks and get_task ------------------------------------------------------------------------

EXTRACT: dict[str, Any] = {
    "class_ref": {"class_name": "BashOperator", "module_path": "airflow.operators.bash"},
    "operator_name": "BashOperator", "task_id": "extract", "owner": "data-eng",
    "start_date": "2024-03-01T00:00:00+00:00", "end_date": None, "trigger_rule": "all_success", "extra_links": [],
    "depends_on_past": False, "wait_for_downstream": False, "retries": 0.0, "queue": "default",
    "pool": "default_pool", "pool_slots": 1.0,
    "execution_timeout": {"__type": "TimeDelta", "days": 0, "seconds": 600, "microseconds": 0},
    "retry_delay": {"__type": "TimeDelta", "days": 0, "seconds": 300, "microseconds": 0},
    "retry_exponential_backoff": False, "priority_weight": 3.0, "weight_rule": "downstream",
    "ui_color": "#f0ede4", "ui_fgcolor": "#000", "template_fields": ["bash_command", "env"],
    "downstream_task_ids": ["transform"], "params": {}, "is_mapped": False,
}


def task_ids(body: dict[str, Any]) -> list[str]:
    return [task["task_id"] for task in body["tasks"]]


def test_tasks_by_task_id_with_float_counts(client: Client) -> None:
    body = client.get("/api/v1/dags/etl_orders/tasks").json()
    assert (task_ids(body), body["total_entries"]) == (["extract", "load", "transform"], 3)
    assert body["tasks"][0] == EXTRACT
    assert all(isinstance(task[name], float) for task in body["tasks"]
               for name in ("retries", "pool_slots", "priority_weight"))
    assert "sub_dag" not in body["tasks"][0]


def test_a_task_given_briefly_gets_the_defaults(client: Client) -> None:
    body = client.get("/api/v1/dags/orders_report/tasks/build_report").json()
    assert body == {
        "class_ref": {"class_name": "PythonOperator", "module_path": "airflow.operators.python"},
        "operator_name": "PythonOperator", "task_id": "build_report", "owner": "airflow",
        "start_date": "2024-03-01T00:00:00+00:00", "end_date": None, "trigger_rule": "all_success",
        "extra_links": [], "depends_on_past": False, "wait_for_downstream": False, "retries": 0.0,
        "queue": "default", "pool": "default_pool", "pool_slots": 1.0, "execution_timeout": None,
        "retry_delay": {"__type": "TimeDelta", "days": 0, "seconds": 300, "microseconds": 0},
        "retry_exponential_backoff": False, "priority_weight": 1.0, "weight_rule": "downstream",
        "ui_color": "#ffefeb", "ui_fgcolor": "#000", "template_fields": ["templates_dict", "op_args", "op_kwargs"],
        "downstream_task_ids": ["publish"], "params": {}, "is_mapped": False,
    }


def test_mapped_and_decorated_tasks(client: Client) -> None:
    body = client.get("/api/v1/dags/fan_out/tasks").json()
    assert [(task["task_id"], task["is_mapped"], task["operator_name"]) for task in body["tasks"]] == [
        ("list_files", False, "@task"), ("process_file", True, "@task"), ("summarize", False, "@task")]


@pytest.mark.parametrize(("order_by", "expected"), [
    ("task_id", ["extract", "load", "transform"]),
    ("-task_id", ["transform", "load", "extract"]),
    ("priority_weight", ["load", "transform", "extract"]),
    ("-retries", ["transform", "load", "extract"]),
    ("retry_delay", ["transform", "extract", "load"]),  # timedeltas; ties keep the DAG's order
    ("depends_on_past", ["extract", "load", "transform"]),
    ("start_date", ["extract", "transform", "load"]),  # all equal: the DAG's order
    ("-start_date", ["extract", "transform", "load"]),  # a reversed stable sort keeps ties in place (real 2.5.3)
    ("dag_id", ["extract", "transform", "load"]),  # how `mockflow capture` reads the DAG's own order
    ("upstream_task_ids", ["extract", "transform", "load"]),
    ("label", ["extract", "load", "transform"]),
    ("--task_id", ["transform", "load", "extract"]),  # every leading dash is stripped
])
def test_tasks_order_by_any_task_attribute(client: Client, order_by: str, expected: list[str]) -> None:
    response = client.get("/api/v1/dags/etl_orders/tasks", params={"order_by": order_by})
    assert response.status_code == 200
    assert task_ids(response.json()) == expected


@pytest.mark.parametrize(("order_by", "detail"), [
    ("nope", "'SerializedBaseOperator' object has no attribute 'nope'"),
    ("", "'SerializedBaseOperator' object has no attribute ''"),
    ("class_ref", "'SerializedBaseOperator' object has no attribute 'class_ref'"),
    ("task_id.nope", "'str' object has no attribute 'nope'"),
    # Values Python cannot order crash the real server (500); mockflow answers 400.
    ("end_date", "'<' not supported between instances of 'NoneType' and 'NoneType'"),
    ("params", "'<' not supported between instances of 'dict' and 'dict'"),
])
def test_tasks_order_by_errors(client: Client, order_by: str, detail: str) -> None:
    response = client.get("/api/v1/dags/etl_orders/tasks", params={"order_by": order_by})
    assert (response.status_code, response.json()) == (400, bad_request(detail))


def test_tasks_of_a_dag_without_tasks_sort_by_anything(client: Client) -> None:
    body = client.get("/api/v1/dags/legacy_import/tasks?order_by=nope").json()
    assert body == {"tasks": [], "total_entries": 0}


@pytest.mark.parametrize(("path", "query", "status", "expected"), [
    ("/api/v1/dags/nope/tasks", "", 404, problem(404, "NotFound", "DAG not found", None)),
    ("/api/v1/dags/nope/tasks/extract", "", 404, problem(404, "NotFound", "DAG not found", None)),
    ("/api/v1/dags/etl_orders/tasks/nope", "", 404, problem(404, "NotFound", "Task not found", None)),
    ("/api/v1/dags/etl_orders/tasks/EXTRACT", "", 404, problem(404, "NotFound", "Task not found", None)),
    ("/api/v1/dags/etl_orders/tasks", "limit=1", 400,
     bad_request("Extra query parameter(s) limit not in spec", title=None)),
])
def test_task_errors(client: Client, path: str, query: str, status: int, expected: dict[str, Any]) -> None:
    response = client.get(f"{path}?{query}")
    assert (response.status_code, response.json()) == (status, expected)


def test_get_task_and_a_subdags_task(client: Client) -> None:
    assert client.get("/api/v1/dags/etl_orders/tasks/extract").json() == EXTRACT
    assert client.get("/api/v1/dags/maintenance.sweep/tasks/vacuum").json()["task_id"] == "vacuum"


def test_task_endpoints_need_task_instance_read(make_client: Callable[..., Client]) -> None:
    client = make_client(DAGS_BASIC)
    role = state_of(client).roles["OrdersTeam"]
    role.permissions = [grant for grant in role.permissions if grant[1] != "Task Instances"]
    client.auth = ("orders", "orders")
    assert client.get("/api/v1/dags/etl_orders/tasks").status_code == 403
    assert client.get("/api/v1/dags/etl_orders").status_code == 200


# --- get_dag_source -------------------------------------------------------------------------------

ORDERS_SOURCE_START = "from airflow import DAG, Dataset\n"


def token_of(client: Client, dag_id: str) -> str:
    token: str = client.get(f"/api/v1/dags/{dag_id}").json()["file_token"]
    return token


@pytest.mark.parametrize(("accept", "content_type"), [
    ("text/plain", "text/plain"),
    ("*/*", "text/plain"),
    ("text/*", "text/plain"),
    ("application/json", "application/json"),
    ("application/json, text/plain;q=0.5", "application/json"),
    ("application/json;q=0.4, text/plain;q=0.9", "text/plain"),
])
def test_source_by_accept_header(client: Client, accept: str, content_type: str) -> None:
    response = client.get(f"/api/v1/dagSources/{token_of(client, 'etl_orders')}", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == content_type
    text = response.json()["content"] if content_type == "application/json" else response.text
    assert text == state_of(client).dags["etl_orders"].source
    assert text.startswith(ORDERS_SOURCE_START)


@pytest.mark.parametrize("accept", [None, "image/png", "text/html", "application/xml"])
def test_source_with_an_unacceptable_type(client: Client, accept: str | None) -> None:
    headers = {"Accept": accept} if accept else {}
    if accept is None:
        client.headers.pop("accept", None)
    response = client.get(f"/api/v1/dagSources/{token_of(client, 'etl_orders')}", headers=headers)
    assert response.status_code == 406
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == "Not Allowed Accept Header"


def test_dags_of_one_file_share_its_token_and_source(client: Client) -> None:
    token = token_of(client, "CRM_Sync")
    assert token_of(client, "crm_sync_full") == token
    assert client.get(f"/api/v1/dagSources/{token}", headers={"Accept": "text/plain"}).text.startswith(
        "from airflow.decorators import dag, task")


def test_a_token_recorded_on_a_real_server_keeps_working(client: Client) -> None:
    response = client.get(f"/api/v1/dagSources/{RECORDED_TOKEN}", headers={"Accept": "text/plain"})
    assert (response.status_code, response.text.startswith(ORDERS_SOURCE_START)) == (200, True)


@pytest.mark.parametrize("token", [
    "not-a-token",
    file_token(ORDERS_FILE) + "x",  # tampered signature
    "L2V0Yy9wYXNzd2Q." + file_token(ORDERS_FILE).split(".")[1],  # another file, same signature
    file_token("/etc/passwd"),  # validly made, but no DAG comes from that file
    file_token("/opt/airflow/dags/legacy/legacy_import.py"),  # a DAG file whose source is not known
    RECORDED_TOKEN + "x",
    "a.b",
    file_token(ORDERS_FILE).split(".")[0] + ".ünïcødé",
    "ünïcødé",
    "x" * 2000,
])
def test_source_of_a_bad_token(client: Client, token: str) -> None:
    response = client.get(f"/api/v1/dagSources/{token}", headers={"Accept": "image/png"})  # 404 beats 406
    assert (response.status_code, response.json()) == (404, problem(404, "NotFound", "Dag source not found", None))


@pytest.mark.parametrize(("user", "status"), [("viewer", 200), ("orders", 200), ("nobody", 403)])
def test_source_permissions(as_user: Callable[[str], TestClient], user: str, status: int) -> None:
    client = as_user(user)
    response = client.get(f"/api/v1/dagSources/{file_token(ORDERS_FILE)}", headers={"Accept": "text/plain"})
    assert response.status_code == status


def test_source_without_credentials(client: Client) -> None:
    client.auth = None
    assert client.get(f"/api/v1/dagSources/{file_token(ORDERS_FILE)}", headers={"Accept": "*/*"}).status_code == 401


# --- store helpers ------------------------------------------------------------------------------------

@pytest.mark.parametrize("fileloc", [ORDERS_FILE, "/opt/airflow/dags/ünïcødé/d a g.py", "", "x" * 500])
def test_file_tokens_are_stable_url_safe_and_reversible(fileloc: str) -> None:
    token = file_token(fileloc)
    assert token == file_token(fileloc)
    assert all(char.isalnum() or char in "-_." for char in token)
    assert fileloc_of_token(State(), token) == fileloc
    assert fileloc_of_token(State(), token[:-1]) is None


@pytest.mark.parametrize(("pattern", "value", "matches"), [
    ("abc", "xxABCxx", True),
    ("a_c", "abc", True),
    ("a_c", "ac", False),
    ("a%c", "a-long-c", True),
    ("a.c", "abc", False),  # regex characters are literal
    ("(", "f(x)", True),
    ("~", "a~b", True),
    ("ÉTL", "étl", True),
    ("a%b%c", "xaxbxcx", True),
    ("a%b%c", "cba", False),
    ("a_%_c", "abc", False),
    ("a_%_c", "abbc", True),
    ("", "anything", True),
])
def test_like_matcher(pattern: str, value: str, matches: bool) -> None:
    assert like_matcher(pattern)(value) is matches


def test_like_matcher_never_backtracks_for_long() -> None:
    started = time.perf_counter()
    assert not like_matcher("%a" * 30 + "b")("a" * 5000)
    assert not like_matcher("_%" * 40 + "z")("y" * 5000)
    assert time.perf_counter() - started < 1


def test_the_dag_object_lists_tags_in_their_stored_order(tmp_path: Path) -> None:
    """Airflow stores tags by iterating a set, so `GET /dags` may list them in another order than
    the DAG (and `/details`) declares; a fixture can record the stored order."""
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "tagged.yaml").write_text(
        "dag_id: tagged\nfileloc: /dags/tagged.py\ntags: [{name: example}, {name: example2}]\n"
        "x-mockflow: {stored_tag_order: [example2, example]}\n")
    app = build_app(tmp_path)
    client = TestClient(app)
    client.auth = ("admin", "admin")
    assert [t["name"] for t in client.get("/api/v1/dags/tagged").json()["tags"]] == ["example2", "example"]
    assert [t["name"] for t in client.get("/api/v1/dags").json()["dags"][0]["tags"]] == ["example2", "example"]
    details = client.get("/api/v1/dags/tagged/details").json()
    assert [t["name"] for t in details["tags"]] == ["example", "example2"]
    export_state(app.store.state, tmp_path / "exported")
    again = TestClient(build_app(tmp_path / "exported"))
    again.auth = ("admin", "admin")
    assert [t["name"] for t in again.get("/api/v1/dags/tagged").json()["tags"]] == ["example2", "example"]


def test_a_stored_tag_order_must_list_the_declared_tags(tmp_path: Path) -> None:
    (tmp_path / "dags").mkdir()
    (tmp_path / "dags" / "tagged.yaml").write_text(
        "dag_id: tagged\nfileloc: /dags/tagged.py\ntags: [{name: a}, {name: b}]\n"
        "x-mockflow: {stored_tag_order: [b, c]}\n")
    _, problems = check_fixture_sets([tmp_path])
    assert any("stored_tag_order" in str(problem) for problem in problems)
