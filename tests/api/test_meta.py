"""The simple resources of the foundation: health, version, config, plugins, providers,
import errors, DAG warnings, event logs and the permission (action) list."""

from __future__ import annotations

import pytest

from mockflow.api.config import NOT_EXPOSED
from tests.conftest import Client, MakeClient


def test_health_reports_a_healthy_scheduler(client: Client) -> None:
    body = client.get("/api/v1/health").json()
    assert body["metadatabase"] == {"status": "healthy"}
    assert body["scheduler"]["status"] == "healthy"
    assert body["scheduler"]["latest_scheduler_heartbeat"].endswith("+00:00")


def test_version_is_the_mocked_airflow(client: Client) -> None:
    assert client.get("/api/v1/version").json() == {
        "version": "2.5.3", "git_version": ".release:2.5.3+cb842dd8aa8749b4d0a474c6e2fda11505d9ba99"}


@pytest.mark.parametrize("accept", [None, "text/html", "application/xml"])
def test_config_without_an_acceptable_type_is_406_with_empty_body(client: Client, accept: str | None) -> None:
    headers = {"accept": accept} if accept else {"accept": ""}
    response = client.get("/api/v1/config", headers=headers)
    assert response.status_code == 406
    assert response.content == b""


@pytest.mark.parametrize("accept", ["application/json", "text/plain", "*/*"])
def test_config_not_exposed_is_403_with_detail(client: Client, accept: str) -> None:
    response = client.get("/api/v1/config", headers={"accept": accept})
    assert response.status_code == 403
    assert response.json()["detail"] == NOT_EXPOSED


def test_config_as_json_when_exposed(make_client: MakeClient) -> None:
    body = make_client(expose_config=True).get("/api/v1/config", headers={"accept": "application/json"}).json()
    names = [section["name"] for section in body["sections"]]
    assert "core" in names and "webserver" in names
    assert all(isinstance(option["value"], str) for s in body["sections"] for option in s["options"])


@pytest.mark.parametrize("accept", ["text/plain", "*/*", "text/*"])
def test_config_as_text_when_exposed(make_client: MakeClient, accept: str) -> None:
    response = make_client(expose_config=True).get("/api/v1/config", headers={"accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.startswith("[core]\n")
    assert "\n\n[api]\n" in response.text and "executor = LocalExecutor" in response.text


@pytest.mark.parametrize("user", ["viewer", "user", "public"])
def test_config_needs_configurations_read(make_client: MakeClient, user: str) -> None:
    response = make_client(auth=(user, user)).get("/api/v1/config", headers={"accept": "application/json"})
    assert response.status_code == 403
    assert response.json()["detail"] is None


def test_config_is_readable_by_op(make_client: MakeClient) -> None:
    assert make_client(auth=("op", "op"), expose_config=True).get(
        "/api/v1/config", headers={"accept": "application/json"}).status_code == 200


def test_plugins_are_paged(client: Client) -> None:
    body = client.get("/api/v1/plugins", params={"limit": 1, "offset": 1}).json()
    assert body["total_entries"] == 2
    assert [p["name"] for p in body["plugins"]] == ["lineage_plugin"]


def test_providers_are_not_paged_and_need_op(make_client: MakeClient) -> None:
    body = make_client(auth=("op", "op")).get("/api/v1/providers").json()
    assert body["total_entries"] == 2
    assert {p["package_name"] for p in body["providers"]} == {
        "apache-airflow-providers-http", "apache-airflow-providers-sqlite"}
    assert make_client(auth=("viewer", "viewer")).get("/api/v1/providers").status_code == 403


def test_import_errors_list_and_order(client: Client) -> None:
    body = client.get("/api/v1/importErrors").json()
    assert body["total_entries"] == 2
    assert [e["import_error_id"] for e in body["import_errors"]] == [1, 2]
    by_time = client.get("/api/v1/importErrors", params={"order_by": "-timestamp"}).json()["import_errors"]
    assert [e["import_error_id"] for e in by_time] == [1, 2]
    by_time = client.get("/api/v1/importErrors", params={"order_by": "timestamp"}).json()["import_errors"]
    assert [e["import_error_id"] for e in by_time] == [2, 1]


def test_import_error_by_id_and_its_404(client: Client) -> None:
    assert client.get("/api/v1/importErrors/1").json()["filename"] == "/opt/airflow/dags/broken_etl.py"
    missing = client.get("/api/v1/importErrors/999")
    assert missing.status_code == 404
    assert missing.json()["title"] == "Import error not found"
    assert missing.json()["detail"] == "The ImportError with import_error_id: `999` was not found"


@pytest.mark.parametrize("endpoint", ["/api/v1/importErrors", "/api/v1/eventLogs", "/api/v1/dagWarnings"])
def test_ordering_by_an_unknown_attribute_is_400(client: Client, endpoint: str) -> None:
    response = client.get(endpoint, params={"order_by": "nope"})
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "Ordering with 'nope' is disallowed or the attribute does not exist on the model")


def test_dag_warnings_filter_and_default_order(client: Client) -> None:
    body = client.get("/api/v1/dagWarnings").json()
    assert [w["dag_id"] for w in body["dag_warnings"]] == ["ml_train", "sales_daily"]  # by timestamp
    only = client.get("/api/v1/dagWarnings", params={"dag_id": "sales_daily"}).json()
    assert only["total_entries"] == 1
    assert client.get("/api/v1/dagWarnings", params={"warning_type": "other"}).json()["total_entries"] == 0


@pytest.mark.parametrize(("order_by", "expected"), [
    ("owner", [3, 1, 2]),
    ("-owner", [1, 2, 3]),  # no index on owner: a stable sort keeps ties in id order
    ("dag_id", [1, 2, 3]),  # NULLs first, ties in id order
    ("-dag_id", [3, 2, 1]),  # idx_log_dag walked backwards: ties reversed too (real 2.5.3)
])
def test_event_log_ties_follow_the_index_sqlite_walks(client: Client, order_by: str, expected: list[int]) -> None:
    body = client.get("/api/v1/eventLogs", params={"order_by": order_by}).json()
    assert [row["event_log_id"] for row in body["event_logs"]] == expected


def test_event_logs_list_get_and_404(client: Client) -> None:
    body = client.get("/api/v1/eventLogs", params={"order_by": "-when"}).json()
    assert [row["event_log_id"] for row in body["event_logs"]] == [2, 1, 3]
    row = client.get("/api/v1/eventLogs/3").json()
    assert row == {"event_log_id": 3, "when": "2024-03-01T08:00:00+00:00", "event": "trigger", "owner": "admin",
                   "dag_id": "sales_daily", "task_id": None, "execution_date": None, "extra": None}
    missing = client.get("/api/v1/eventLogs/42")
    assert missing.status_code == 404
    assert missing.json()["title"] == "Event Log not found"
    assert missing.json()["detail"] is None


def test_limit_zero_means_the_fallback_and_big_limits_are_clamped(client: Client) -> None:
    assert len(client.get("/api/v1/permissions", params={"limit": 0}).json()["actions"]) == 16
    assert len(client.get("/api/v1/permissions", params={"limit": 5000}).json()["actions"]) == 16


def test_permissions_list_actions_in_storage_order(client: Client) -> None:
    body = client.get("/api/v1/permissions", params={"limit": 5, "offset": 5}).json()
    assert body["total_entries"] == 16
    assert [a["name"] for a in body["actions"]] == ["clear", "set_failed", "set_retry", "set_running", "set_skipped"]


def test_permissions_need_admin(make_client: MakeClient) -> None:
    assert make_client(auth=("op", "op")).get("/api/v1/permissions").status_code == 403
