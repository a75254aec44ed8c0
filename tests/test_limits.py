"""The limits of a shared mockflow: nesting depth where JSON is read, sizes at the ASGI edge, and
every failure outside the steps answered as a problem body."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from starlette.testclient import TestClient

from mockflow import Settings, create_app
from mockflow.api.context import Reply
from mockflow.control.state_io import load_files
from mockflow.fixtureset.files import FixtureError
from mockflow.fixtureset.load import load_fixture_sets
from mockflow.limits import FIXTURE_MAX_JSON_DEPTH, Scan, scan, too_deep
from mockflow.problems import BadRequest
from mockflow.server import LiveServer
from mockflow.store import freeze
from tests.conftest import ADMIN, MINIMAL

API = "/api/v1"
RUNS = f"{API}/dags/sales_daily/dagRuns"
PROBLEM_KEYS = {"detail", "status", "title", "type"}


def nested(levels: int) -> Any:
    """A value `levels` deep: `{"a": {"a": ... 1}}`."""
    value: Any = 1
    for _ in range(levels):
        value = {"a": value}
    return value


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert set(body) == PROBLEM_KEYS and body["status"] == status
    return body


def test_too_deep_finds_the_first_container_past_the_limit() -> None:
    assert too_deep(nested(3), 3) is None
    assert too_deep(nested(4), 3) == ("a", "a", "a")
    assert too_deep([1, {"x": [[]]}], 4) is None
    assert too_deep([1, {"x": [[]]}], 3) == (1, "x", 0)
    assert too_deep(nested(100_000), 64) is not None  # iterative: no RecursionError


def test_one_scan_finds_the_depth_and_the_first_wide_integer() -> None:
    assert scan({"a": [1, 2**64]}, 64, wide_integers=True) == Scan(None, 2**64)
    assert scan({"a": [1, 2**64]}, 64) == Scan(None, None)  # integers are looked at only when asked
    assert scan([-(2**63) - 1, nested(3)], 2, wide_integers=True) == Scan((1, "a"), -(2**63) - 1)
    assert scan([nested(3)], 2, wide_integers=True) == Scan((0, "a"), None)
    assert scan([True, 2**63 - 1, -(2**63)], 1, wide_integers=True) == Scan(None, None)


# --- depth: refused at the door, and whatever is accepted can be answered -------------------

def test_a_conf_nested_past_the_limit_is_refused_and_nothing_is_stored(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    before = freeze(client.app.store.state)  # type: ignore[attr-defined]
    body = problem(client.post(RUNS, json={"dag_run_id": "deep", "conf": nested(300)}), 400)
    assert body["detail"] == ("Request body is nested deeper than 64 levels, the most this mockflow stores "
                              "(MOCKFLOW_MAX_JSON_DEPTH)")
    assert freeze(client.app.store.state) == before  # type: ignore[attr-defined]
    assert client.get(f"{RUNS}/deep").status_code == 404


def test_a_deep_body_with_a_long_integer_is_refused_for_its_depth(make_client: Callable[..., TestClient]) -> None:
    # Python's json (read for exact integers) gives up before orjson's 1024 levels: not a 500.
    client = make_client()
    body = b'{"conf":' + b"[" * 1010 + b"12345678901234567890" + b"]" * 1010 + b"}"
    response = client.post(RUNS, content=body, headers={"content-type": "application/json"})
    assert problem(response, 400)["detail"].startswith("Request body is nested deeper than 64 levels")


def test_the_wide_integer_is_reported_before_the_depth(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_json_depth=8)
    body = {"dag_run_id": "x", "conf": {"deep": nested(10), "wide": 2**64}}
    assert problem(client.post(RUNS, json=body), 400)["detail"] == (
        f"Integer {2**64} in the request body is wider than 64 bits")


def test_every_free_form_body_is_held_to_the_limit(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_json_depth=8)
    deep = nested(8)
    for method, url, body in (("POST", f"{API}/variables", {"key": "k", "value": deep}),
                              ("POST", f"{API}/connections", {"connection_id": "c", "conn_type": "http",
                                                              "extra": deep}),
                              ("PATCH", f"{API}/pools/default_pool", {"name": "default_pool", "slots": deep})):
        detail = problem(client.request(method, url, json=body), 400)["detail"]
        assert "deeper than 8 levels" in detail, (url, detail)


@pytest.mark.parametrize("depth", [64, 200])
def test_the_deepest_conf_accepted_is_answered_by_every_read(make_client: Callable[..., TestClient],
                                                             depth: int) -> None:
    client = make_client(max_json_depth=depth)
    conf = nested(depth - 2)  # the body is {"conf": conf}: one level, and the value's own
    assert client.post(RUNS, json={"dag_run_id": "deep", "conf": conf}).status_code == 200
    assert client.get(f"{RUNS}/deep").json()["conf"] == conf
    assert [run["conf"] for run in client.get(RUNS).json()["dag_runs"] if run["dag_run_id"] == "deep"] == [conf]
    batch = client.post(f"{API}/dags/~/dagRuns/list", json={"dag_ids": ["sales_daily"]}).json()["dag_runs"]
    assert [run["conf"] for run in batch if run["dag_run_id"] == "deep"] == [conf]
    assert client.get("/_mockflow/state").status_code == 200


def test_a_state_exported_at_the_default_limit_can_be_put_back(make_client: Callable[..., TestClient]) -> None:
    client = make_client()
    assert client.post(RUNS, json={"dag_run_id": "deep", "conf": nested(62)}).status_code == 200
    files = client.get("/_mockflow/state").json()
    assert client.put("/_mockflow/state", json=files).status_code == 200
    assert client.get(f"{RUNS}/deep").json()["conf"] == nested(62)


def test_a_fixture_file_nested_too_deep_names_the_file_and_the_place(tmp_path: Path) -> None:
    (tmp_path / "variables.json").write_bytes(orjson.dumps([{"key": "k", "value": "v", "x": nested(200)}]))
    with pytest.raises(FixtureError) as raised:
        load_fixture_sets([tmp_path])
    assert "variables.json: [0].x.a.a.a.a.a.a...: this value is nested deeper than 100 levels" in str(raised.value)


def test_a_yaml_fixture_file_too_deep_for_the_parser_is_a_fixture_error(tmp_path: Path) -> None:
    (tmp_path / "variables.yaml").write_text("[" * 5000 + "]" * 5000)
    with pytest.raises(FixtureError, match=r"variables\.yaml"):
        load_fixture_sets([tmp_path])


def test_imported_state_files_are_held_to_the_fixture_limit() -> None:
    with pytest.raises(BadRequest, match=r"pools.json: the file is nested deeper than 100 levels"):
        load_files([("state", {"pools.json": [nested(FIXTURE_MAX_JSON_DEPTH)]})])
    client = TestClient(create_app(Settings(fixtures=(str(MINIMAL),))))
    detail = problem(client.put("/_mockflow/state", json={"pools.json": nested(150)}), 400)["detail"]
    assert "deeper than 101 levels" in detail


# --- the edge: URL, query, headers, body ---------------------------------------------------

def test_each_edge_limit_answers_its_problem_and_changes_nothing(make_client: Callable[..., TestClient]) -> None:
    client = make_client(max_url_length=100, max_query_params=3, max_header_bytes=2000, max_body_bytes=50)
    app = client.app
    before = freeze(app.store.state)  # type: ignore[attr-defined]
    long_url = problem(client.get(f"{API}/pools/" + "p" * 100), 414)["detail"]
    assert long_url == "The URL is 114 bytes long; this mockflow takes at most 100 (MOCKFLOW_MAX_URL_LENGTH)"
    many = problem(client.get(f"{API}/pools", params=[("limit", "1")] * 4), 414)["detail"]
    assert many == "The query string has 4 parameters; this mockflow takes at most 3 (MOCKFLOW_MAX_QUERY_PARAMS)"
    assert problem(client.get(f"{API}/pools", headers={"x-big": "h" * 2000}), 431)["title"] == \
        "Request Header Fields Too Large"
    declared = problem(client.post(f"{API}/pools", json={"name": "p" * 60, "slots": 1}), 413)["detail"]
    assert declared.startswith("The request body declares 81 bytes, more than the 50 bytes this mockflow takes")
    chunked = client.post(f"{API}/pools", content=iter([b'{"name": "', b"p" * 60, b'", "slots": 1}']),
                          headers={"content-type": "application/json"})
    assert problem(chunked, 413)["detail"].startswith("The request body is longer than the 50 bytes")
    assert freeze(app.store.state) == before  # type: ignore[attr-defined]
    assert [entry.status for entry in app.control.entries()] == [414, 414, 431, 413, 413]  # type: ignore[attr-defined]
    assert client.get(f"{API}/pools", params={"limit": "1"}).status_code == 200  # within every limit


def test_the_limits_are_settings_with_checked_values() -> None:
    settings = Settings.from_env({"MOCKFLOW_MAX_BODY_BYTES": "1024", "MOCKFLOW_MAX_JSON_DEPTH": "10"})
    assert (settings.max_body_bytes, settings.max_json_depth) == (1024, 10)
    with pytest.raises(ValueError, match="max_json_depth must be at most 200"):
        Settings(max_json_depth=201).check()
    with pytest.raises(ValueError, match="max_url_length must be 1 or more"):
        Settings(max_url_length=0).check()
    with pytest.raises(ValueError, match="MOCKFLOW_MAX_QUERY_PARAMS must be an integer"):
        Settings.from_env({"MOCKFLOW_MAX_QUERY_PARAMS": "many"})


# --- every failure is a problem body ---------------------------------------------------------

def test_an_answer_that_cannot_be_encoded_is_a_problem_naming_the_operation() -> None:
    app = create_app(Settings(fixtures=(str(MINIMAL),)))
    app.pipeline.handlers["get_pools"] = lambda call: Reply(body={"pools": {1, 2}}, validate=False)
    client = TestClient(app)
    client.auth = ADMIN
    body = problem(client.get(f"{API}/pools"), 500)
    assert body["detail"].startswith("mockflow crashed in get_pools while encoding its answer: ")
    assert app.health.crashes and app.health.crashes[0].startswith("get_pools (encoding its answer): ")


def test_an_answer_that_cannot_be_encoded_is_journaled_as_the_500_sent() -> None:
    app = create_app(Settings(fixtures=(str(MINIMAL),)))
    app.pipeline.handlers["get_pools"] = lambda call: Reply(body={"pools": {1, 2}}, validate=False)
    client = TestClient(app)
    client.auth = ADMIN
    assert client.get(f"{API}/pools").status_code == 500
    assert client.get(f"{API}/version").status_code == 200  # the next request is journaled as usual
    crashed, after = app.control.entries()
    assert (crashed.operation_id, crashed.status, crashed.response_valid) == ("get_pools", 500, False)
    assert crashed.response_problem is not None and crashed.response_problem == app.health.crashes[0]
    assert crashed.response_problem.startswith("get_pools (encoding its answer): TypeError(")
    assert (after.operation_id, after.status, after.response_valid) == ("get_version", 200, True)
    wire = client.get("/_mockflow/requests").json()["requests"]
    assert [(e["status"], e["response_valid"]) for e in wire] == [(500, False), (200, True)]


def test_a_crash_before_the_steps_is_a_problem_naming_the_operation(monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(Settings(fixtures=(str(MINIMAL),)))

    def broken(name: str | None) -> Any:
        raise RuntimeError("namespace table broke")

    monkeypatch.setattr(app.namespaces, "get", broken)
    body = problem(TestClient(app).get(f"{API}/pools"), 500)
    assert body["detail"] == ("mockflow crashed in get_pools while serving the request: "
                              "RuntimeError('namespace table broke')")
    assert app.health.crashes == ["get_pools (serving the request): RuntimeError('namespace table broke')"]


def test_a_client_leaving_mid_body_is_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(Settings(fixtures=(str(MINIMAL),)))
    messages: Iterator[dict[str, Any]] = iter([{"type": "http.request", "body": b'{"name": ', "more_body": True},
                                               {"type": "http.disconnect"}])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    scope = {"type": "http", "method": "POST", "path": f"{API}/pools", "raw_path": f"{API}/pools".encode(),
             "query_string": b"", "headers": [(b"content-type", b"application/json")], "http_version": "1.1",
             "scheme": "http", "server": ("test", 80), "client": ("test", 1), "root_path": ""}
    with caplog.at_level(logging.INFO, logger="mockflow"):
        asyncio.run(app(scope, receive, send))
    assert [(record.levelname, record.exc_info) for record in caplog.records] == [("INFO", None)]
    assert caplog.records[0].getMessage() == f"client left before sending the whole body of POST {API}/pools"
    assert app.health.crashes == []


def test_on_a_live_server_mockflow_answers_its_limits_before_uvicorn(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(Settings(fixtures=(str(MINIMAL),)))
    with LiveServer(app) as server, httpx.Client(base_url=server.url, auth=ADMIN) as client, \
            caplog.at_level(logging.INFO):
        problem(client.post(RUNS, json={"dag_run_id": "deep", "conf": nested(300)}), 400)
        problem(client.get(f"{API}/pools", headers={"x-big": "h" * 9000}), 431)
        problem(client.get(f"{API}/pools/" + "p" * 4100), 414)
        with socket.create_connection((server.host, server.port)) as raw:
            raw.sendall(b"POST /api/v1/pools HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                        b"content-length: 100\r\n\r\n{\"name\":")
        deadline = time.monotonic() + 5
        while "client left" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.get(f"{API}/pools").status_code == 200  # served on, after the client left
    served = [record for record in caplog.records if record.name.startswith(("mockflow", "uvicorn"))]
    assert [record.getMessage() for record in served] == [
        "client left before sending the whole body of POST /api/v1/pools"]
    assert not any(record.exc_info for record in caplog.records)
    assert app.health.crashes == []


@pytest.mark.parametrize("number", ["99078614385835143876987582414848", "-9223372036854775809"])
def test_an_integer_wider_than_64_bits_is_refused_by_name(number: str) -> None:
    client = TestClient(create_app(Settings(fixtures=(str(MINIMAL),))))
    client.auth = ("admin", "admin")
    body = f'{{"name": "wide", "slots": {number}}}'.encode()
    refused = client.post(f"{API}/pools", content=body, headers={"Content-Type": "application/json"})
    assert refused.status_code == 400
    assert refused.json()["detail"] == f"Integer {number} in the request body is wider than 64 bits"
    assert client.get(f"{API}/pools/wide").status_code == 404


def test_long_integers_within_64_bits_stay_exact() -> None:
    client = TestClient(create_app(Settings(fixtures=(str(MINIMAL),))))
    client.auth = ("admin", "admin")
    body = b'{"name": "big", "slots": 9223372036854775807}'
    assert client.post(f"{API}/pools", content=body, headers={"Content-Type": "application/json"}).json()[
        "slots"] == 9223372036854775807


# --- every entry path of a free-form value: the deepest accepted is answered and written back ------

RUNS_BASIC = Path(__file__).parent / "fixtures" / "runs_basic"


def _admin_client(app: Any) -> TestClient:
    client = TestClient(app)
    client.auth = ADMIN
    return client


def _put_back(client: TestClient) -> None:
    files = client.get("/_mockflow/state").json()
    assert client.put("/_mockflow/state", json=files).status_code == 200


def test_a_scripted_xcom_at_the_control_limit_is_answered_and_written_back() -> None:
    client = _admin_client(create_app(Settings(fixtures=(str(RUNS_BASIC),))))
    xcoms = "/api/v1/dags/sales_etl/dagRuns/deep/taskInstances/extract/xcomEntries"

    def script(depth: int) -> Any:  # the body: the script, its xcoms, then the value (from level 4)
        return {"dag_id": "sales_etl", "task_id": "extract", "script": {"xcoms": {"k": nested(depth - 3)}}}

    refused = problem(client.post("/_mockflow/simulation/scripts", json=script(102)), 400)["detail"]
    assert refused.startswith("Request body is nested deeper than 101 levels")
    assert client.post("/_mockflow/simulation/scripts", json=script(101)).status_code == 201
    assert client.get("/_mockflow/simulation").status_code == 200
    # the set's own time, with only sales_etl unpaused: no two years of scheduled catch-up runs
    assert client.put("/_mockflow/clock", json={"now": "2024-03-03T12:00:00+00:00"}).status_code == 200
    assert client.patch("/api/v1/dags/reports_daily", json={"is_paused": True}).status_code == 200
    assert client.post("/api/v1/dags/sales_etl/dagRuns", json={"dag_run_id": "deep"}).status_code == 200
    assert client.post("/_mockflow/simulation/run-until-idle").status_code == 200
    assert client.get(f"{xcoms}/k").json()["value"] == str(nested(98))
    assert [e["key"] for e in client.get(xcoms).json()["xcom_entries"]] == ["k"]
    _put_back(client)  # the export holds the string the API shows, which a fixture takes
    assert client.get(f"{xcoms}/k").json()["value"] == str(nested(98))


def test_a_run_conf_at_the_fixture_limit_loads_from_files_and_state_and_is_written_back(tmp_path: Path) -> None:
    client = _admin_client(create_app(Settings(fixtures=(str(RUNS_BASIC),))))
    files = client.get("/_mockflow/state").json()
    run_id = files["dags/sales_etl.json"]["dag_runs"][0]["dag_run_id"]
    runs = "/api/v1/dags/sales_etl/dagRuns"
    deepest = nested(FIXTURE_MAX_JSON_DEPTH - 3)  # the file, `dag_runs`, the run, then the conf

    files["dags/sales_etl.json"]["dag_runs"][0]["conf"] = nested(FIXTURE_MAX_JSON_DEPTH - 2)
    refused = problem(client.put("/_mockflow/state", json=files), 400)["detail"]
    assert refused.startswith("Request body is nested deeper than 101 levels")  # the file's, plus its name
    files["dags/sales_etl.json"]["dag_runs"][0]["conf"] = deepest
    assert client.put("/_mockflow/state", json=files).status_code == 200
    for answer in (client.get(f"{runs}/{run_id}").json(), *client.get(runs).json()["dag_runs"]):
        if answer["dag_run_id"] == run_id:
            assert answer["conf"] == deepest
    _put_back(client)
    assert client.get(f"{runs}/{run_id}").json()["conf"] == deepest

    for name, content in client.get("/_mockflow/state").json().items():  # the same set, as files
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(orjson.dumps(content))
    from_files = _admin_client(create_app(Settings(fixtures=(str(tmp_path),))))
    assert from_files.get(f"{runs}/{run_id}").json()["conf"] == deepest
    _put_back(from_files)
