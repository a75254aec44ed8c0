"""`mockflow.MockAirflow` without pytest's help: modes, fixture paths, clients, store view, assertions."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mockflow import LiveServer, MockAirflow, Settings, create_app
from mockflow.testing import Call, ControlError, RemoteControl

MINIMAL = Path(__file__).parent / "fixtures" / "minimal"


@pytest.fixture
def mock() -> Iterator[MockAirflow]:
    with MockAirflow() as mock:
        yield mock


def test_relative_fixture_paths_resolve_against_the_calling_file(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # elsewhere: a path relative to the current directory would miss
    with MockAirflow("fixtures/minimal") as mock:
        assert mock.app.settings.fixtures == (str(MINIMAL.resolve()),)
        assert mock.client.get("/version").status_code == 200


def test_default_names_the_embedded_set_and_layers_under_others(tmp_path: Path) -> None:
    (tmp_path / "variables.yaml").write_text("- key: layered\n  value: yes please\n")
    with MockAirflow(["default", tmp_path]) as mock:
        assert mock.store.variables()["layered"] == "yes please"
        assert len(mock.store.dags()) == 14
    assert MockAirflow("default").app.settings.fixtures == ()  # the embedded set itself: its cached seed


def test_a_missing_fixture_set_is_named_with_where_it_was_looked_for() -> None:
    with pytest.raises(FileNotFoundError, match=r"'nowhere' is not a directory \(looked for .*tests/nowhere\)"):
        MockAirflow("nowhere")


def test_in_process_clients_need_no_socket_and_carry_the_user(mock: MockAirflow) -> None:
    assert mock.mode == "in-process"
    assert mock.client.get("/dags", params={"limit": 1}).status_code == 200
    with mock.http_client(user=("viewer", "viewer")) as viewer:
        assert viewer.delete("/pools/gpu").status_code == 403
    with mock.http_client(user=None) as anonymous:
        assert anonymous.get("/dags").status_code == 401
    assert [call.user for call in mock.requests()] == ["admin", "viewer", None]
    mock.use(None)
    assert mock.client.get("/dags").status_code == 401


def test_the_sync_client_also_works_inside_a_running_event_loop(mock: MockAirflow) -> None:
    async def inside() -> int:
        return mock.client.get("/version").status_code

    assert asyncio.run(inside()) == 200


def test_the_async_client_runs_in_process(mock: MockAirflow) -> None:
    async def main() -> list[int]:
        async with mock.async_client() as client:
            answers = await asyncio.gather(client.get("/pools"), client.get("/variables"))
        return [answer.status_code for answer in answers]

    assert asyncio.run(main()) == [200, 200]
    assert sorted(call.operation_id or "" for call in mock.requests()) == ["get_pools", "get_variables"]


def test_a_dropped_connection_is_an_httpx_transport_error(mock: MockAirflow) -> None:
    mock.fault("get_version", disconnect="drop", times=1)
    with pytest.raises(httpx.RemoteProtocolError, match="connection drop"):
        mock.client.get("/version")
    assert mock.client.get("/version").status_code == 200


def test_fault_helper_and_reset(mock: MockAirflow) -> None:
    rule = mock.fault("get_pools", 503, times=1, force=True, after=1)
    assert rule["times"] == 1 and rule["after"] == 1
    assert [mock.client.get("/pools").status_code for _ in range(3)] == [200, 503, 200]
    mock.client.post("/pools", json={"name": "etl", "slots": 1})
    mock.app.pipeline.handlers["get_version"] = lambda call: {"version": "9"}
    mock.reset()
    assert mock.requests() == [] and mock.control.get_faults() == {"faults": []}
    assert "etl" not in [pool.name for pool in mock.store.pools()]
    assert mock.client.get("/version").json()["version"] == "2.5.3"


def test_clock_helpers(mock: MockAirflow) -> None:
    assert mock.freeze_clock("2030-05-01T00:00:00+00:00").isoformat() == "2030-05-01T00:00:00+00:00"
    assert mock.advance_clock(90).isoformat() == "2030-05-01T00:01:30+00:00"
    assert mock.client.post("/dags/ingest_orders/dagRuns", json={}).json()["logical_date"] == \
        "2030-05-01T00:01:30+00:00"


def test_the_store_view_reads_records_and_changes_them_through_the_rules(mock: MockAirflow) -> None:
    run = mock.store.trigger("ingest_orders", "arranged")
    assert run.state == "queued" and mock.store.dag_run("ingest_orders", "arranged") is run
    assert {ti.state for ti in mock.store.task_instances("ingest_orders", "arranged")} == {None}
    mock.store.set_run_state("ingest_orders", "arranged", "success")
    assert {ti.state for ti in mock.store.task_instances("ingest_orders", "arranged")} == {"success"}
    assert mock.client.get("/dags/ingest_orders/dagRuns/arranged").json()["state"] == "success"
    mock.store.create_pool("arranged", 3)
    mock.store.set_variable("arranged", "1")
    assert mock.client.get("/pools/arranged").json()["slots"] == 3
    assert mock.store.variable("arranged").value == "1"
    with pytest.raises(LookupError, match="no DAG run ingest_orders/nope"):
        mock.store.dag_run("ingest_orders", "nope")
    with mock.store.state() as state:
        assert "ingest_orders" in state.dags


def test_assert_called_says_what_was_called_instead(mock: MockAirflow) -> None:
    mock.client.get("/dags/ingest_orders")
    mock.client.get("/dags/nope")
    assert mock.assert_called_once("get_dag", status=404).path == "/api/v1/dags/nope"
    with pytest.raises(AssertionError) as failure:
        mock.assert_called("post_dag_run", times=1, method="POST")
    assert str(failure.value) == (
        "expected post_dag_run (method=POST) to be called once, it was called 0 times.\n"
        "Calls made:\n  GET /api/v1/dags/ingest_orders -> 200 (get_dag)\n  GET /api/v1/dags/nope -> 404 (get_dag)")
    with pytest.raises(AssertionError, match="to be called 0 times, it was called twice"):
        mock.assert_not_called("get_dag")
    mock.assert_not_called("delete_dag")


def test_a_call_shows_its_body_and_the_verdicts() -> None:
    with MockAirflow() as mock:
        mock.client.post("/variables", json={"key": "k", "value": 1})
        call = mock.assert_called_once("post_variables")
        assert call.json() == {"key": "k", "value": 1} and not call.request_valid
        assert mock.invalid_calls() == [f"the client sent a request the spec rejects: {call}: {call.request_problem}"]
        assert str(call) == "POST /api/v1/variables -> 400 (post_variables)"


def test_live_mode_serves_on_a_free_port_and_stops_cleanly() -> None:
    mock = MockAirflow(live=True)
    with pytest.raises(RuntimeError, match="start the live mock first"):
        mock.url  # noqa: B018
    with mock:
        assert mock.url.startswith("http://127.0.0.1:") and mock.api_url == mock.url + "/api/v1"
        assert httpx.get(mock.api_url + "/version").status_code == 200
        assert mock.client.get("/pools").status_code == 200
        assert [call.operation_id for call in mock.requests()] == ["get_version", "get_pools"]
        url = mock.url
    mock.close()  # idempotent
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/api/v1/version")


def test_remote_mode_drives_another_mockflow_in_its_own_namespace() -> None:
    app = create_app(Settings(fixtures=(str(MINIMAL),)))
    with LiveServer(app) as server, MockAirflow(url=server.url + "/", namespace="ci-7") as mock:
        assert mock.url == server.url and mock.controlled
        assert mock.client.post("/pools", json={"name": "remote", "slots": 2}).status_code == 200
        assert [call.operation_id for call in mock.requests()] == ["post_pool"]
        assert "remote" in {pool["name"] for pool in app.control.namespace("ci-7").get_state()["pools.json"]}
        assert app.control.count_requests()["count"] == 0
        mock.fault("get_pools", 401, times=1)
        assert mock.client.get("/pools").status_code == 401
        mock.reset()
        assert mock.requests() == []
        with pytest.raises(RuntimeError, match="has no app in this process"):
            mock.store  # noqa: B018


def test_remote_control_reports_refusals_and_missing_controls() -> None:
    with LiveServer(create_app(Settings(fixtures=(str(MINIMAL),), control=False))) as server:
        control = RemoteControl(server.url)
        assert not control.available()
        with pytest.raises(ControlError, match="is not a mockflow control API"):
            control.get_info()
        control.close()
    with LiveServer(create_app(Settings(fixtures=(str(MINIMAL),)))) as server:
        control = RemoteControl(server.url)
        with pytest.raises(ControlError, match="answered 400"):
            control.post_fault({"match": {"operation_id": "nope"}})
        control.close()


def test_call_round_trips_the_journal_wire_entry() -> None:
    wire = {"method": "GET", "path": "/api/v1/dags", "status": 200, "operation_id": "get_dags",
            "query": [["limit", "1"]], "body": None, "user": "admin", "fault_id": None, "request_valid": True,
            "request_problem": None, "response_valid": True, "response_problem": None}
    call = Call.of(wire)
    assert str(call) == "GET /api/v1/dags?limit=1 -> 200 (get_dags)" and call.json() is None
