"""Reset, state export and import, the clock, namespaces and the control API's own guard."""

from __future__ import annotations

import io
import tarfile
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockflow.app import MockflowApp
from tests.conftest import FIXTURES, MINIMAL
from tests.control.conftest import CONTROL, client_for


def test_reset_brings_back_the_seeded_store_journal_faults_and_clock(app: MockflowApp) -> None:
    client = client_for(app)
    seeded = app.control.get_state()
    client.post("/api/v1/pools", json={"name": "new", "slots": 3})
    client.delete("/api/v1/variables/env")
    client.post(f"{CONTROL}/faults", json={"match": {"operation_id": "get_version"}, "effect": {"status": 200,
                                                                                                "body": {}}})
    client.put(f"{CONTROL}/clock", json={"now": "2031-05-05T00:00:00+00:00", "frozen": True})
    answer = client.post(f"{CONTROL}/reset")
    assert answer.status_code == 200
    assert answer.json()["reset"] == ["store", "journal", "faults", "clock", "simulation"]
    assert app.control.get_state() == seeded
    assert client.get(f"{CONTROL}/requests/count").json()["count"] == 0
    assert client.get(f"{CONTROL}/faults").json() == {"faults": []}
    assert client.get(f"{CONTROL}/clock").json()["frozen"] is False


def test_reset_can_leave_parts_alone(app: MockflowApp) -> None:
    client = client_for(app)
    client.post("/api/v1/pools", json={"name": "kept", "slots": 3})
    client.post(f"{CONTROL}/faults", json={"id": "f", "match": {"path": "/nowhere"}})
    answer = client.post(f"{CONTROL}/reset", json={"store": False, "faults": False})
    assert answer.json()["reset"] == ["journal", "clock", "simulation"]
    assert client.get("/api/v1/pools/kept").status_code == 200
    assert [f["id"] for f in client.get(f"{CONTROL}/faults").json()["faults"]] == ["f"]
    assert client.get(f"{CONTROL}/requests/count").json()["count"] == 1  # the GET just above


def test_reset_to_another_fixture_set_makes_it_the_new_seed(app: MockflowApp) -> None:
    client = client_for(app)
    answer = client.post(f"{CONTROL}/reset", json={"fixtures": [str(MINIMAL), str(FIXTURES / "runs_basic")]})
    assert answer.status_code == 200, answer.text
    assert client.get("/api/v1/pools/etl").status_code == 200  # runs_basic has an etl pool too
    assert client.get("/api/v1/variables/env").status_code == 404  # pvc is gone
    client.delete("/api/v1/pools/etl")
    client.post(f"{CONTROL}/reset")
    assert client.get("/api/v1/pools/etl").status_code == 200


@pytest.mark.parametrize(("body", "detail"), [
    ({"fixtures": ["/no/such/dir"]}, "No fixture set directory at /no/such/dir"),
    ({"fixtures": []}, "[] is too short"),
    ({"store": False, "fixtures": [str(MINIMAL)]}, "'fixtures' replaces the store: it needs 'store' left true"),
    ({"everything": True}, "Additional properties are not allowed ('everything' was unexpected)"),
])
def test_a_bad_reset_changes_nothing(app: MockflowApp, body: dict[str, Any], detail: str) -> None:
    client = client_for(app)
    client.post("/api/v1/pools", json={"name": "kept", "slots": 3})
    answer = client.post(f"{CONTROL}/reset", json=body)
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith(detail)
    assert client.get("/api/v1/pools/kept").status_code == 200


def test_state_exports_the_fixture_layout_as_json_and_as_tar(client: TestClient) -> None:
    files = client.get(f"{CONTROL}/state").json()
    assert {"pools.json", "variables.json", "dags/sales_daily.json", "users.json"} <= set(files)
    assert {p["name"] for p in files["pools.json"]} == {"default_pool", "etl", "gpu", "api_calls"}
    tar = client.get(f"{CONTROL}/state", params={"format": "tar"})
    assert tar.headers["content-type"] == "application/x-tar"
    with tarfile.open(fileobj=io.BytesIO(tar.content)) as archive:
        assert set(archive.getnames()) == set(files)


def test_put_state_replaces_the_store_and_reset_still_returns_to_the_seed(app: MockflowApp) -> None:
    client = client_for(app)
    files = client.get(f"{CONTROL}/state").json()
    files["pools.json"] = [p for p in files["pools.json"] if p["name"] != "gpu"]
    del files["variables.json"]
    answer = client.put(f"{CONTROL}/state", json=files)
    assert answer.status_code == 200
    assert answer.json()["counts"]["variables"] == 0
    assert client.get("/api/v1/pools/gpu").status_code == 404
    client.post(f"{CONTROL}/reset")
    assert client.get("/api/v1/pools/gpu").status_code == 200


def test_patch_state_layers_a_partial_set_over_the_store(client: TestClient) -> None:
    answer = client.patch(f"{CONTROL}/state", json={"pools.json": [{"name": "gpu", "slots": 16},
                                                                   {"name": "fresh", "slots": 1}]})
    assert answer.status_code == 200
    assert client.get("/api/v1/pools/gpu").json()["slots"] == 16
    assert client.get("/api/v1/pools/fresh").status_code == 200
    assert client.get("/api/v1/pools/etl").json()["slots"] == 8


@pytest.mark.parametrize(("files", "detail"), [
    ({"pools.json": [{"name": "x", "slots": "many"}]}, 'patch/pools.json: [0].slots: "many" is not of type'),
    ({"../escape.json": []}, "Invalid file name '../escape.json'"),
    ({"notes.txt": []}, "Invalid file name 'notes.txt'"),
    ({"dags/ghost.json": {"dag_id": "other"}}, "patch/dags/ghost.json"),
])
def test_an_import_with_a_bad_object_is_refused_whole(client: TestClient, files: dict[str, Any],
                                                      detail: str) -> None:
    before = client.get(f"{CONTROL}/state").json()
    answer = client.patch(f"{CONTROL}/state", json={"variables.json": [{"key": "added", "value": "1"}], **files})
    assert answer.status_code == 400
    assert detail in answer.json()["detail"]
    assert client.get(f"{CONTROL}/state").json() == before


def test_the_clock_is_read_set_frozen_advanced_and_unfrozen(client: TestClient) -> None:
    frozen = client.put(f"{CONTROL}/clock", json={"now": "2030-01-01T00:00:00Z", "frozen": True}).json()
    assert frozen == {"now": "2030-01-01T00:00:00+00:00", "frozen": True}
    assert client.post(f"{CONTROL}/clock/advance", json={"seconds": 90.5}).json()["now"] == (
        "2030-01-01T00:01:30.500000+00:00")
    run = client.post("/api/v1/dags/sales_daily/dagRuns", json={"dag_run_id": "clocked"}).json()
    assert run["execution_date"] == "2030-01-01T00:01:30.500000+00:00"
    moving = client.put(f"{CONTROL}/clock", json={"frozen": False}).json()
    assert moving["frozen"] is False and moving["now"] >= "2030-01-01T00:01:30"


@pytest.mark.parametrize(("method", "path", "body"), [
    ("put", "/clock", {}), ("put", "/clock", {"now": "tomorrow"}), ("post", "/clock/advance", {"seconds": -1}),
    ("post", "/clock/advance", {}),
])
def test_bad_clock_changes_are_refused(client: TestClient, method: str, path: str, body: dict[str, Any]) -> None:
    before = client.get(f"{CONTROL}/clock").json()["frozen"]
    answer = client.request(method.upper(), CONTROL + path, json=body)
    assert answer.status_code == 400
    assert client.get(f"{CONTROL}/clock").json()["frozen"] == before


def test_namespaces_are_independent_stores_journals_faults_and_clocks(app: MockflowApp) -> None:
    gw1 = client_for(app, headers={"X-Mockflow-Namespace": "gw1"})
    gw2 = client_for(app, headers={"X-Mockflow-Namespace": "gw2"})
    gw1.post("/api/v1/pools", json={"name": "mine", "slots": 1})
    gw1.post(f"{CONTROL}/faults", json={"match": {"operation_id": "get_pool"}, "effect": {"status": 404}})
    gw1.put(f"{CONTROL}/clock", json={"now": "2030-01-01T00:00:00Z", "frozen": True})
    assert gw2.get("/api/v1/pools/mine").status_code == 404  # not gw1's pool
    assert gw2.get("/api/v1/pools/etl").status_code == 200  # gw1's fault is not gw2's
    assert gw2.get(f"{CONTROL}/clock").json()["frozen"] is False
    assert gw1.get(f"{CONTROL}/requests/count").json()["count"] == 1
    assert client_for(app).get("/api/v1/pools/mine").status_code == 404  # nor the default's
    info = gw1.get(f"{CONTROL}/info").json()
    assert info["namespace"] == "gw1"
    assert info["namespaces"] == ["default", "gw1", "gw2"]
    gw1.post(f"{CONTROL}/reset")
    assert gw1.get("/api/v1/pools/mine").status_code == 404
    assert app.control.namespace("gw2").get_clock()["frozen"] is False


def test_namespace_names_and_numbers_are_bounded(make_app: Any) -> None:
    app = make_app(max_namespaces=2)
    bad = client_for(app, headers={"X-Mockflow-Namespace": "no spaces"}).get("/api/v1/pools")
    assert bad.status_code == 400
    assert bad.json()["title"] == "Invalid X-Mockflow-Namespace header"
    assert client_for(app, headers={"X-Mockflow-Namespace": "one"}).get("/api/v1/pools").status_code == 200
    full = client_for(app, headers={"X-Mockflow-Namespace": "two"}).get("/api/v1/pools")
    assert full.status_code == 400
    assert full.json()["detail"] == "This server holds at most 2 namespaces"


def test_a_control_token_guards_every_control_call(make_app: Any) -> None:
    app = make_app(control_token="s3cret")
    anonymous = client_for(app)
    refused = anonymous.post(f"{CONTROL}/faults", json={"match": {}})
    assert refused.status_code == 401
    assert refused.json()["title"] == "Control token required"
    assert app.control.get_faults() == {"faults": []}
    bearer = client_for(app, auth=None, headers={"Authorization": "Bearer s3cret"})
    assert bearer.get(f"{CONTROL}/info").json()["control_token"] is True
    header = client_for(app, headers={"X-Mockflow-Token": "s3cret"})
    assert header.post(f"{CONTROL}/reset").status_code == 200
    assert client_for(app, headers={"X-Mockflow-Token": "wrong"}).get(f"{CONTROL}/clock").status_code == 401
    assert anonymous.get("/api/v1/pools").status_code == 200  # the Airflow API keeps its own auth


def test_the_control_api_can_be_switched_off(make_app: Any) -> None:
    client = client_for(make_app(control=False))
    answer = client.get(f"{CONTROL}/info")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")


def test_the_control_api_serves_its_own_openapi_document(client: TestClient) -> None:
    document = client.get(f"{CONTROL}/openapi.json").json()
    assert document["openapi"].startswith("3.0")
    assert document["servers"] == [{"url": "/_mockflow"}]
    assert {"reset", "post_fault", "get_requests", "advance_clock"} <= {
        op["operationId"] for item in document["paths"].values() for op in item.values() if isinstance(op, dict)}


def test_patch_state_with_one_dag_and_its_runs(client: TestClient) -> None:
    dag = client.get(f"{CONTROL}/state").json()["dags/sales_daily.json"]
    dag["dag_runs"] = [{"dag_run_id": "imported", "logical_date": "2024-05-01T00:00:00+00:00", "state": "failed",
                        "run_type": "manual"}]
    assert client.patch(f"{CONTROL}/state", json={"dags/sales_daily.json": dag}).status_code == 200
    run = client.get("/api/v1/dags/sales_daily/dagRuns/imported").json()
    assert (run["state"], run["execution_date"]) == ("failed", "2024-05-01T00:00:00+00:00")


BODIES = [("post", "/reset"), ("put", "/state"), ("patch", "/state"), ("post", "/faults"), ("put", "/clock"),
          ("post", "/clock/advance")]


@pytest.mark.parametrize(("method", "path"), BODIES)
def test_a_body_that_is_not_json_is_refused_and_changes_nothing(app: MockflowApp, method: str, path: str) -> None:
    client = client_for(app)
    client.post("/api/v1/pools", json={"name": "kept", "slots": 3})
    before = (app.control.get_state(), app.control.get_faults(), app.control.get_clock()["frozen"])
    broken = client.request(method.upper(), CONTROL + path, content=b"{not json",
                            headers={"Content-Type": "application/json"})
    assert broken.status_code == 400
    assert broken.headers["content-type"] == "application/problem+json"
    wrong_type = client.request(method.upper(), CONTROL + path, content=b"seconds=1",
                                headers={"Content-Type": "text/plain"})
    assert wrong_type.status_code == 415
    assert (app.control.get_state(), app.control.get_faults(), app.control.get_clock()["frozen"]) == before


def test_a_subdag_exports_to_a_file_of_its_own_and_the_export_puts_back(make_app: Any) -> None:
    # `maintenance.sweep` was written as `dags/maintenance.json`, over its parent's file.
    client = client_for(make_app(FIXTURES / "dags_basic"))
    before = client.get("/api/v1/dags", params={"only_active": False}).json()
    files = client.get(f"{CONTROL}/state").json()
    assert {"dags/maintenance.json", "dags/maintenance.sweep.json"} <= set(files)
    assert files["dags/maintenance.sweep.json"]["dag_id"] == "maintenance.sweep"
    assert client.put(f"{CONTROL}/state", json=files).status_code == 200
    assert client.get("/api/v1/dags", params={"only_active": False}).json() == before
