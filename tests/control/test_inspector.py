"""The inspector page at `/_mockflow/` and the overview call it reads, in-process."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockflow.app import MockflowApp
from mockflow.control.overview import grid_state, latest_runs
from mockflow.server import LiveServer
from mockflow.store.records import DagRun
from mockflow.testing import RemoteControl
from mockflow.wire import parse_datetime
from tests.conftest import build_app
from tests.control.conftest import CONTROL, client_for

# Every URL the page could load from or send to: attributes, CSS url()/@import and fetch targets.
_URL_SPOTS = re.compile(r"""(?:src|href|action)\s*=\s*["']([^"']*)["']|url\(\s*["']?([^"')]*)|@import\s+["']([^"']+)|"""
                        r"""fetch\(\s*[`"']([^`"']*)""", re.I)
_ABSOLUTE = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.I)


@pytest.fixture
def default_app() -> MockflowApp:
    return build_app()  # the embedded default data: 14 DAGs, mapped tasks, secrets


@pytest.fixture
def default_client(default_app: MockflowApp) -> TestClient:
    return client_for(default_app)


def overview(client: TestClient, **query: Any) -> dict[str, Any]:
    answer = client.get(f"{CONTROL}/overview", params=query)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def dag_of(body: dict[str, Any], dag_id: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [dag for dag in body["dags"] if dag["dag_id"] == dag_id]
    (dag,) = found
    return dag


# --- the page ---------------------------------------------------------------------------------

def test_the_page_is_one_self_contained_html_document(client: TestClient) -> None:
    page = client.get(f"{CONTROL}/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["cache-control"] == "no-cache"
    html = page.text
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html and "<script>" in html
    assert "<script src" not in html and '<link rel="stylesheet"' not in html
    targets = [next(group for group in found if group) for found in _URL_SPOTS.findall(html) if any(found)]
    assert targets, "the URL scan found nothing: it no longer reads the page"
    outside = [url for url in targets if _ABSOLUTE.match(url) and not url.startswith("data:")]
    assert outside == []
    assert not re.search(r"https?://(?!127\.0\.0\.1|localhost)", html), "the page names an outside host"


def test_the_page_reads_only_the_control_and_airflow_apis(client: TestClient) -> None:
    html = client.get(f"{CONTROL}/").text
    assert 'control("overview")' in html and "../api/v1" in html
    for path in ("overview", "info", "reset", "clock/advance", "requests?offset="):
        assert f'control("{path}' in html or f"control(`{path}" in html, path


def test_head_and_the_no_slash_address(client: TestClient) -> None:
    assert client.head(f"{CONTROL}/").status_code == 200
    moved = client.get(CONTROL, params={"namespace": "gw1"}, follow_redirects=False)
    assert (moved.status_code, moved.headers["location"]) == (308, "_mockflow/?namespace=gw1")
    assert client.get(CONTROL).url.path == f"{CONTROL}/"  # the relative Location resolves to the page
    assert client.post(f"{CONTROL}/").status_code == 405


def test_the_page_and_its_redirect_are_never_journaled(app: MockflowApp, client: TestClient) -> None:
    client.get(f"{CONTROL}/")
    client.get(CONTROL, follow_redirects=False)
    assert app.control.count_requests()["count"] == 0


def test_with_a_control_token_the_page_loads_but_its_data_needs_the_token() -> None:
    app = build_app(control_token="s3cret")
    anonymous = client_for(app, auth=None)
    assert anonymous.get(f"{CONTROL}/").status_code == 200
    refused = anonymous.get(f"{CONTROL}/overview")
    assert (refused.status_code, refused.json()["title"]) == (401, "Control token required")
    assert client_for(app, auth=None, headers={"X-Mockflow-Token": "s3cret"}).get(
        f"{CONTROL}/overview").status_code == 200


def test_without_the_control_api_there_is_no_inspector() -> None:
    client = client_for(build_app(control=False))
    assert client.get(f"{CONTROL}/").status_code == 404
    assert client.get(CONTROL, follow_redirects=False).status_code == 404


# --- the overview -----------------------------------------------------------------------------

def test_the_overview_shows_the_store_as_the_airflow_api_does(default_app: MockflowApp,
                                                              default_client: TestClient) -> None:
    body = overview(default_client)
    dags = default_client.get("/api/v1/dags", params={"limit": 100, "only_active": False}).json()["dags"]
    assert [dag["dag_id"] for dag in body["dags"]] == sorted(dag["dag_id"] for dag in dags)
    paused = {dag["dag_id"]: dag["is_paused"] for dag in dags}
    assert {dag["dag_id"]: dag["is_paused"] for dag in body["dags"]} == paused
    pools = default_client.get("/api/v1/pools").json()["pools"]
    assert body["pools"] == pools
    later = default_app.control.get_clock()
    assert body["clock"]["frozen"] is later["frozen"] is False
    assert body["clock"]["now"] <= later["now"]  # the running clock, read a moment earlier
    assert body["simulation"] == {"mode": "virtual", "speed": 60.0, "scripts": 0}
    assert body["namespace"] == "default" and body["faults"] == 0


def test_the_grid_holds_each_runs_task_states_and_summarises_mapped_tasks(default_client: TestClient) -> None:
    dag = dag_of(overview(default_client), "process_store_files")
    api_runs = default_client.get("/api/v1/dags/process_store_files/dagRuns").json()["dag_runs"]
    assert [run["dag_run_id"] for run in dag["runs"]] == [run["dag_run_id"] for run in
                                                           sorted(api_runs, key=lambda r: r["logical_date"])]
    assert dag["total_runs"] == len(api_runs)
    for run in dag["runs"]:
        tis = default_client.get(f"/api/v1/dags/process_store_files/dagRuns/{run['dag_run_id']}/taskInstances",
                                 params={"limit": 100}).json()["task_instances"]
        states: dict[str, list[str | None]] = {}
        for ti in tis:
            states.setdefault(ti["task_id"], []).append(ti["state"])
        assert run["task_states"] == {task: grid_state(found) for task, found in states.items()}
        assert run["mapped"] == {task: len(found) for task, found in states.items()
                                 if any(ti["map_index"] >= 0 for ti in tis if ti["task_id"] == task)}
    assert any(run["mapped"] for run in dag["runs"]), "the default data lost its mapped task"
    assert set(dag["tasks"]) >= {task for run in dag["runs"] for task in run["task_states"]}


@pytest.mark.parametrize(("states", "shown"), [
    (["success"], "success"),
    ([None], None),
    (["success", "failed", None], "failed"),
    (["success", None], None),
    (["skipped", "success"], "success"),
    (["running", "queued"], "queued"),
    (["removed"], "removed"),
    ([], None),
])
def test_a_mapped_task_shows_its_most_urgent_state_as_airflows_grid_does(states: list[str | None],
                                                                         shown: str | None) -> None:
    assert grid_state(states) == shown


def test_latest_runs_are_the_newest_by_logical_date_oldest_first() -> None:
    start = parse_datetime("2024-01-01T00:00:00+00:00")
    assert start is not None
    runs = [DagRun("d", f"r{day}", start + timedelta(days=day), id=10 - day) for day in (3, 0, 2, 1)]
    assert [run.dag_run_id for run in latest_runs(runs, 2)] == ["r2", "r3"]
    assert [run.dag_run_id for run in latest_runs(runs, 10)] == ["r0", "r1", "r2", "r3"]


def test_runs_limits_the_runs_per_dag(default_client: TestClient) -> None:
    body = overview(default_client, runs=1)
    ingest = dag_of(body, "ingest_orders")
    assert ingest["total_runs"] == 4 and len(ingest["runs"]) == 1
    newest = max(default_client.get("/api/v1/dags/ingest_orders/dagRuns").json()["dag_runs"],
                 key=lambda run: run["logical_date"])
    assert ingest["runs"][0]["dag_run_id"] == newest["dag_run_id"]


@pytest.mark.parametrize("runs", ["0", "101", "many"])
def test_a_bad_runs_value_is_a_400_problem(default_client: TestClient, runs: str) -> None:
    answer = default_client.get(f"{CONTROL}/overview", params={"runs": runs})
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"


def test_secrets_are_masked_as_airflows_ui_masks_them(default_client: TestClient) -> None:
    default_client.post("/api/v1/variables", json={"key": "Vendor_API_KEY", "value": "sk-live-123"})
    default_client.post("/api/v1/variables", json={"key": "plain", "value": "visible"})
    default_client.post("/api/v1/connections", json={
        "connection_id": "vault", "conn_type": "http", "password": "hunter2", "host": "vault.local",
        "extra": '{"client_secret": "abc", "nested": {"token": "t"}, "timeout": 5}'})
    body = overview(default_client)
    variables = {variable["key"]: variable for variable in body["variables"]}
    assert variables["Vendor_API_KEY"] == {"key": "Vendor_API_KEY", "value": "********", "description": None,
                                           "masked": True}
    assert variables["plain"]["value"] == "visible" and variables["plain"]["masked"] is False
    (vault,) = [conn for conn in body["connections"] if conn["connection_id"] == "vault"]
    assert vault["password"] == "***" and vault["host"] == "vault.local"
    assert vault["extra"] == '{"client_secret": "***", "nested": {"token": "***"}, "timeout": 5}'
    assert "hunter2" not in str(body) and "sk-live-123" not in str(body)
    assert all(conn["password"] in (None, "***") for conn in body["connections"])


def test_the_overview_follows_triggers_pauses_and_slot_use(default_client: TestClient) -> None:
    before = dag_of(overview(default_client), "customer_export")
    run = default_client.post("/api/v1/dags/customer_export/dagRuns", json={"dag_run_id": "seen"}).json()
    default_client.patch("/api/v1/dags/customer_export", params={"update_mask": "is_paused"},
                         json={"is_paused": True})
    after = dag_of(overview(default_client), "customer_export")
    assert after["total_runs"] == before["total_runs"] + 1 and after["is_paused"] is True
    latest = after["runs"][-1]
    assert (latest["dag_run_id"], latest["state"], latest["logical_date"]) == ("seen", run["state"],
                                                                               run["logical_date"])
    assert set(latest["task_states"]) == set(after["tasks"])


def test_the_overview_catches_the_simulation_up_as_an_airflow_request_would(default_app: MockflowApp,
                                                                            default_client: TestClient) -> None:
    default_app.control.put_clock({"frozen": True})
    default_client.post("/api/v1/dags/customer_export/dagRuns", json={"dag_run_id": "moving"})
    assert dag_of(overview(default_client), "customer_export")["runs"][-1]["state"] == "queued"
    default_app.store.clock.advance(timedelta(hours=1))  # behind the controls' back: nothing caught up yet
    latest = dag_of(overview(default_client), "customer_export")["runs"][-1]
    assert latest["dag_run_id"] == "moving" and latest["state"] == "success"
    assert set(latest["task_states"].values()) == {"success"}
    api = default_client.get("/api/v1/dags/customer_export/dagRuns/moving").json()
    assert api["state"] == "success" and api["end_date"] == latest["end_date"]


def test_the_overview_counts_the_journal_and_fault_rules(app: MockflowApp, client: TestClient) -> None:
    client.get("/api/v1/pools")
    app.control.post_fault({"match": {"operation_id": "get_pools"}, "effect": {"status": 403}})
    client.get("/api/v1/pools")
    body = overview(client)
    assert body["journal"] == {"entries": 2, "dropped": 0} and body["faults"] == 1
    assert [entry["fault_id"] is not None for entry in client.get(f"{CONTROL}/requests").json()["requests"]] == [
        False, True]


def test_the_overview_is_per_namespace_and_the_same_in_python(app: MockflowApp, client: TestClient) -> None:
    worker = client_for(app, headers={"X-Mockflow-Namespace": "gw2"})
    worker.post("/api/v1/pools", json={"name": "gw2_only", "slots": 3})
    assert overview(worker)["namespace"] == "gw2"
    assert "gw2_only" in [pool["name"] for pool in overview(worker)["pools"]]
    assert "gw2_only" not in [pool["name"] for pool in overview(client)["pools"]]
    in_python = app.control.namespace("gw2").get_overview({"runs": 3})
    over_http = overview(worker, runs=3)
    assert {**in_python, "clock": None} == {**over_http, "clock": None}


def test_a_remote_control_reads_the_same_overview(app: MockflowApp) -> None:
    with LiveServer(app) as server:
        remote = RemoteControl(server.url, namespace="gw4")
        try:
            over_http = remote.get_overview({"runs": 2})
        finally:
            remote.close()
    in_python = app.control.namespace("gw4").get_overview({"runs": 2})
    assert {**over_http, "clock": None} == {**in_python, "clock": None} and over_http["namespace"] == "gw4"
