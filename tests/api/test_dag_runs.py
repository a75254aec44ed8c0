"""DAG runs: lists (filters, ordering, paging, permissions), trigger, state, clear, note, delete."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mockflow.store.timetables import Cron, CronError, manual_data_interval
from tests.api.conftest import business_state
from tests.conftest import Client

RUNS = Path(__file__).parents[1] / "fixtures" / "runs_basic"
API = "/api/v1"
SALES = f"{API}/dags/sales_etl/dagRuns"
FIRST = "scheduled__2024-03-01T06:00:00+00:00"
SECOND = "scheduled__2024-03-02T06:00:00+00:00"
MANUAL = "manual__2024-03-03T10:00:00+00:00"
NOW = datetime(2024, 4, 1, 12, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def client(make_client: Callable[..., Client]) -> Client:
    client = make_client(RUNS)
    client.app.store.clock.freeze(NOW)
    return client


def ids(body: dict[str, Any]) -> list[str]:
    return [run["dag_run_id"] for run in body["dag_runs"]]


def tis_of(client: Client, dag_id: str, run_id: str) -> dict[tuple[str, int], dict[str, Any]]:
    body = client.get(f"{API}/dags/{dag_id}/dagRuns/{run_id}/taskInstances").json()
    return {(ti["task_id"], ti["map_index"]): ti for ti in body["task_instances"]}



def unchanged(client: Client, method: str, url: str, **kwargs: Any) -> Any:
    """Sends a request that must be refused, and checks it left the store as it was."""
    before = business_state(client)
    response = client.request(method, url, **kwargs)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert business_state(client) == before
    return response.json()


# --- lists ----------------------------------------------------------------------------------------

def test_list_of_one_dag_in_creation_order(client: Client) -> None:
    body = client.get(SALES).json()
    assert ids(body) == [FIRST, SECOND, MANUAL]
    assert body["total_entries"] == 3
    first = body["dag_runs"][0]
    assert first == {
        "dag_run_id": FIRST, "dag_id": "sales_etl", "logical_date": "2024-03-01T06:00:00+00:00",
        "execution_date": "2024-03-01T06:00:00+00:00", "start_date": "2024-03-02T06:00:05+00:00",
        "end_date": "2024-03-02T06:20:00+00:00", "data_interval_start": "2024-03-01T06:00:00+00:00",
        "data_interval_end": "2024-03-02T06:00:00+00:00", "last_scheduling_decision": None,
        "run_type": "scheduled", "state": "success", "external_trigger": False, "conf": {}, "note": None,
    }


@pytest.mark.parametrize(("query", "expected", "total"), [
    ({"order_by": "-execution_date"}, [MANUAL, SECOND, FIRST], 3),
    ({"order_by": "-dag_run_id"}, [SECOND, FIRST, MANUAL], 3),
    ({"order_by": "state"}, [SECOND, MANUAL, FIRST], 3),
    ({"order_by": "end_date"}, [MANUAL, FIRST, SECOND], 3),  # NULL first ascending
    ({"order_by": "-end_date"}, [SECOND, FIRST, MANUAL], 3),  # and last descending
    ({"order_by": "-id", "limit": 1, "offset": 1}, [SECOND], 3),
    ({"state": "success,running"}, [FIRST, MANUAL], 2),
    ({"state": ["failed", "bogus"]}, [SECOND], 1),
    ({"execution_date_gte": "2024-03-02T06:00:00+00:00"}, [SECOND, MANUAL], 2),
    ({"execution_date_lte": "2024-03-02T06:00:00Z"}, [FIRST, SECOND], 2),
    ({"end_date_gte": "2024-01-01T00:00:00+00:00"}, [FIRST, SECOND], 2),  # NULL never matches
    ({"start_date_lte": "2024-03-03T08:00:00+01:00"}, [FIRST, SECOND], 2),
    ({"limit": 0}, [FIRST, SECOND, MANUAL], 3),
    ({"offset": 5}, [], 3),
])
def test_list_filters_ordering_paging(client: Client, query: dict[str, Any], expected: list[str],
                                      total: int) -> None:
    body = client.get(SALES, params=query).json()
    assert (ids(body), body["total_entries"]) == (expected, total)


@pytest.mark.parametrize(("query", "detail"), [
    ({"order_by": "run_id"}, "Ordering with 'run_id' is disallowed or the attribute does not exist on the model"),
    ({"order_by": "-note"}, "Ordering with 'note' is disallowed or the attribute does not exist on the model"),
    ({"order_by": ""}, "Ordering with '' is disallowed or the attribute does not exist on the model"),
    ({"limit": "x"}, "Wrong type, expected 'integer' for query parameter 'limit'"),
])
def test_list_bad_queries(client: Client, query: dict[str, Any], detail: str) -> None:
    response = client.get(SALES, params=query)
    assert response.status_code == 400
    assert response.json()["detail"] == detail


def test_negative_limit_and_naive_date(client: Client) -> None:
    assert client.get(SALES, params={"limit": -1}).json()["title"] == "Page limit must be a positive integer"
    response = client.get(SALES, params={"execution_date_gte": "2024-03-01T00:00:00"})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("'2024-03-01T00:00:00' is not a 'date-time'")


def test_unknown_dag_lists_nothing(client: Client) -> None:
    assert client.get(f"{API}/dags/nope/dagRuns").json() == {"dag_runs": [], "total_entries": 0}


def test_tilde_lists_all_dags_and_is_filtered_by_permissions(client: Client,
                                                              make_client: Callable[..., Client]) -> None:
    body = client.get(f"{API}/dags/~/dagRuns", params={"order_by": "execution_date"}).json()
    assert body["total_entries"] == 6
    assert ids(body)[:2] == ["first", "manual_mapped"]
    reports = make_client(RUNS, auth=("reports", "reports"))
    body = reports.get(f"{API}/dags/~/dagRuns").json()
    assert [run["dag_id"] for run in body["dag_runs"]] == ["reports_daily"]
    batch = reports.post(f"{API}/dags/~/dagRuns/list", json={"dag_ids": ["sales_etl", "reports_daily"]}).json()
    assert batch["total_entries"] == 1


@pytest.mark.parametrize(("body", "expected", "total"), [
    ({}, None, 6),
    ({"dag_ids": ["sales_etl", "fan_in"]}, ["manual_mapped", FIRST, SECOND, MANUAL], 4),  # id order
    ({"dag_ids": ["sales_etl"], "order_by": "-execution_date", "page_limit": 2, "page_offset": 1}, [SECOND, FIRST], 3),
    ({"dag_ids": [], "states": ["running"]}, ["manual_mapped", MANUAL], 2),
    ({"dag_ids": ["sales_etl"], "execution_date_gte": "2024-03-02T00:00:00+00:00",
      "execution_date_lte": "2024-03-02T23:00:00+00:00"}, [SECOND], 1),
    ({"dag_ids": ["nope"]}, [], 0),
])
def test_batch_list(client: Client, body: dict[str, Any], expected: list[str] | None, total: int) -> None:
    answer = client.post(f"{API}/dags/~/dagRuns/list", json=body).json()
    assert answer["total_entries"] == total
    if expected is not None:
        assert ids(answer) == expected


@pytest.mark.parametrize(("body", "detail"), [
    ({"bogus": 1}, "{'bogus': ['Unknown field.']}"),
    ({"dag_ids": "sales_etl"}, "'sales_etl' is not of type 'array' - 'dag_ids'"),
    ({"page_limit": 0}, "0 is less than the minimum of 1 - 'page_limit'"),
    ({"order_by": "bogus"}, "Ordering with 'bogus' is disallowed or the attribute does not exist on the model"),
    ({"execution_date_gte": "2024-01-01"}, "'2024-01-01' is not a 'date-time' - 'execution_date_gte'"),
])
def test_batch_list_bad_bodies(client: Client, body: dict[str, Any], detail: str) -> None:
    assert unchanged(client, "POST", f"{API}/dags/~/dagRuns/list", json=body)["detail"] == detail


def test_get_one_and_its_404(client: Client) -> None:
    assert client.get(f"{SALES}/{MANUAL}").json()["conf"] == {"full_refresh": True}
    problem = client.get(f"{SALES}/nope").json()
    assert (problem["title"], problem["detail"]) == (
        "DAGRun not found", "DAGRun with DAG ID: 'sales_etl' and DagRun ID: 'nope' not found")


# --- trigger -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("dag_id", "logical", "interval"), [
    ("sales_etl", "2024-04-10T07:00:00+00:00", ("2024-04-09T06:00:00+00:00", "2024-04-10T06:00:00+00:00")),
    ("sales_etl", "2024-04-10T06:00:00+00:00", ("2024-04-09T06:00:00+00:00", "2024-04-10T06:00:00+00:00")),
    ("sales_etl", "2024-04-10T05:59:59+00:00", ("2024-04-08T06:00:00+00:00", "2024-04-09T06:00:00+00:00")),
    ("reports_daily", "2024-03-01T00:30:00+00:00", ("2024-02-29T00:00:00+00:00", "2024-03-01T00:00:00+00:00")),
    ("weekly_delta", "2024-04-10T07:00:00+00:00", ("2024-04-03T07:00:00+00:00", "2024-04-10T07:00:00+00:00")),
    ("fan_in", "2024-04-10T07:00:00+00:00", ("2024-04-10T07:00:00+00:00", "2024-04-10T07:00:00+00:00")),
    ("trigger_parent", "2024-04-10T07:00:00+00:00", ("2024-04-10T07:00:00+00:00", "2024-04-10T07:00:00+00:00")),
])
def test_trigger_data_interval(client: Client, dag_id: str, logical: str, interval: tuple[str, str]) -> None:
    response = client.post(f"{API}/dags/{dag_id}/dagRuns", json={"dag_run_id": "r1", "logical_date": logical})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["data_interval_start"], body["data_interval_end"]) == interval
    assert body["state"] == "queued" and body["run_type"] == "manual" and body["external_trigger"] is True


def test_trigger_full_answer_echoes_the_offset_sent(client: Client) -> None:
    sent = {"dag_run_id": "tz", "logical_date": "2024-05-05T01:30:00+02:00", "conf": {"a": [1]}, "note": "hi"}
    body = client.post(f"{API}/dags/reports_daily/dagRuns", json=sent).json()
    assert body == {
        "dag_run_id": "tz", "dag_id": "reports_daily", "logical_date": "2024-05-05T01:30:00+02:00",
        "execution_date": "2024-05-05T01:30:00+02:00", "start_date": None, "end_date": None,
        "data_interval_start": "2024-05-03T00:00:00+00:00", "data_interval_end": "2024-05-04T00:00:00+00:00",
        "last_scheduling_decision": None, "run_type": "manual", "state": "queued", "external_trigger": True,
        "conf": {"a": [1]}, "note": "hi",
    }
    again = client.get(f"{API}/dags/reports_daily/dagRuns/tz").json()
    assert again["logical_date"] == "2024-05-04T23:30:00+00:00"


@pytest.mark.parametrize("body", [{}, {"dag_run_id": ""}, {"dag_run_id": None, "note": ""}])
def test_trigger_defaults(client: Client, body: dict[str, Any]) -> None:
    answer = client.post(f"{API}/dags/fan_in/dagRuns", json=body).json()
    assert answer["dag_run_id"] == "manual__2024-04-01T12:00:00.123456+00:00"
    assert answer["logical_date"] == "2024-04-01T12:00:00.123456+00:00"
    assert answer["conf"] == {} and answer["note"] is None


def test_trigger_with_execution_date_field(client: Client) -> None:
    body = client.post(SALES, json={"dag_run_id": "x", "execution_date": "2024-04-02T00:00:00Z"}).json()
    assert body["logical_date"] == body["execution_date"] == "2024-04-02T00:00:00+00:00"


def test_trigger_creates_task_instances(client: Client) -> None:
    client.post(SALES, json={"dag_run_id": "new", "logical_date": "2024-04-02T00:00:00+00:00"})
    body = client.get(f"{SALES}/new/taskInstances").json()
    rows = [(ti["task_id"], ti["priority_weight"], ti["max_tries"], ti["pool"], ti["queue"], ti["operator"])
            for ti in body["task_instances"]]
    assert rows == [  # declaration order; weights by rule (downstream sums, upstream sums, absolute)
        ("extract", 9, 2, "default_pool", "default", "BashOperator"),
        ("transform", 8, 0, "default_pool", "heavy", "BashOperator"),
        ("load", 7, 0, "etl", "default", "BashOperator"),
        ("audit", 4, 0, "default_pool", "default", "EmptyOperator"),
        ("notify", 5, 0, "default_pool", "default", "EmptyOperator"),
    ]
    ti = body["task_instances"][0]
    assert ti["state"] is None and ti["try_number"] == 0 and ti["map_index"] == -1 and ti["hostname"] == ""
    assert ti["execution_date"] == "2024-04-02T00:00:00+00:00" and ti["start_date"] is None
    assert ti["rendered_fields"] == {} and ti["executor_config"] == "{}"


def test_trigger_expands_mapped_tasks(client: Client) -> None:
    client.post(f"{API}/dags/fan_in/dagRuns", json={"dag_run_id": "m", "logical_date": "2024-04-02T00:00:00Z"})
    keys = list(tis_of(client, "fan_in", "m"))
    # creation order: operators and @task calls as Python evaluates them (arguments first)
    assert keys == [("fixed", 0), ("fixed", 1), ("process", 0), ("process", 1), ("process", 2), ("process", 3),
                    ("combine", -1), ("list_files", -1), ("per_file", -1)]


def test_trigger_respects_task_start_dates(client: Client) -> None:
    client.post(f"{API}/dags/reports_daily/dagRuns", json={"dag_run_id": "a", "logical_date": "2024-05-01T00:00:00Z"})
    assert list(tis_of(client, "reports_daily", "a")) == [("build", -1)]
    client.post(f"{API}/dags/sales_etl/dagRuns", json={"dag_run_id": "b", "logical_date": "2023-05-01T00:00:00Z"})
    assert tis_of(client, "sales_etl", "b") == {}


@pytest.mark.parametrize(("dag_id", "body", "status", "title", "detail"), [
    ("sales_etl", {"dag_run_id": FIRST}, 409, "Conflict",
     f"DAGRun with DAG ID: 'sales_etl' and DAGRun ID: '{FIRST}' already exists"),
    ("sales_etl", {"dag_run_id": "other", "logical_date": "2024-03-01T07:00:00+01:00"}, 409, "Conflict",
     "DAGRun with DAG ID: 'sales_etl' and DAGRun logical date: '2024-03-01 07:00:00+01:00' already exists"),
    ("sales_etl", {"dag_run_id": "scheduled__x"}, 400, "Bad Request",
     "A manual DAG run cannot use ID 'scheduled__x' since it is reserved for scheduled runs"),
    ("sales_etl", {"dag_run_id": "dataset_triggered__x"}, 400, "Bad Request",
     "A manual DAG run cannot use ID 'dataset_triggered__x' since it is reserved for dataset_triggered runs"),
    ("sales_etl", {"logical_date": "2024-01-01T00:00:00+00:00", "execution_date": "2024-01-02T00:00:00+00:00"},
     400, "logical_date conflicts with execution_date", "'2024-01-01T00:00:00+00:00' != '2024-01-02T00:00:00+00:00'"),
    ("sales_etl", {"bogus": 1}, 400, "Bad Request", "{'bogus': ['Unknown field.']}"),
    ("sales_etl", {"state": "running"}, 400, "Bad Request", "Property is read-only - 'state'"),
    ("sales_etl", {"conf": [1, 2]}, 400, "Bad Request", "[1, 2] is not of type 'object' - 'conf'"),
    ("sales_etl", {"logical_date": "2024-01-01T00:00:00"}, 400, "Bad Request",
     "'2024-01-01T00:00:00' is not a 'date-time' - 'logical_date'"),
    ("trigger_parent", {"conf": {"region": "asia"}}, 400, "Invalid DAG params",
     "Invalid input for param region: 'asia' does not match its schema"),
    ("sales_etl", {"dag_run_id": "x", "logical_date": None}, 400, "Bad Request",
     "{'logical_date': ['Field may not be null.']}"),
    ("sales_etl", {"execution_date": None}, 400, "Incorrect datetime argument",
     "Parser must be a string or character stream, not NoneType"),
    ("nope", {}, 404, "DAG not found", "DAG with dag_id: 'nope' not found"),
    ("retired", {}, 404, "DAG not found", "DAG with dag_id: 'retired' not found"),
    ("broken", {}, 400, "DAG cannot be triggered", "DAG with dag_id: 'broken' has import errors"),
    ("sales_etl", {"dag_run_id": "é" * 300}, None, None, None),
])
def test_trigger_refusals(client: Client, dag_id: str, body: dict[str, Any], status: int | None,
                          title: str | None, detail: str | None) -> None:
    if status is None:  # unicode and long ids are accepted as they are
        assert client.post(f"{API}/dags/{dag_id}/dagRuns", json=body).json()["dag_run_id"] == "é" * 300
        return
    problem = unchanged(client, "POST", f"{API}/dags/{dag_id}/dagRuns", json=body)
    assert (problem["status"], problem["title"], problem["detail"]) == (status, title, detail)


def test_trigger_writes_an_audit_row_even_when_refused(client: Client) -> None:
    client.post(f"{API}/dags/nope/dagRuns", json={})
    rows = client.get(f"{API}/eventLogs", params={"order_by": "-event_log_id", "limit": 1}).json()["event_logs"]
    assert (rows[0]["event"], rows[0]["dag_id"], rows[0]["owner"]) == ("dag_run.create", "nope", "admin")


def test_viewer_cannot_trigger(make_client: Callable[..., Client]) -> None:
    viewer = make_client(RUNS, auth=("viewer", "viewer"))
    assert viewer.post(SALES, json={}).status_code == 403


@pytest.mark.parametrize(("content", "detail"), [
    (b"{not json", "Request body is not valid JSON"),
    (b"[]", "[] is not of type 'object'"),
    (b"null", "Request body is not valid JSON"),
])
def test_trigger_malformed_bodies(client: Client, content: bytes, detail: str) -> None:
    problem = unchanged(client, "POST", SALES, content=content, headers={"content-type": "application/json"})
    assert problem["detail"] == detail


# --- state, note, clear, delete ------------------------------------------------------------------------

def test_mark_success(client: Client) -> None:
    body = client.patch(f"{SALES}/{MANUAL}", json={"state": "success"}).json()
    assert body["state"] == "success" and body["end_date"] == "2024-04-01T12:00:00.123456+00:00"
    assert body["start_date"] == "2024-03-03T10:00:02+00:00"
    tis = tis_of(client, "sales_etl", MANUAL)
    assert {ti["state"] for ti in tis.values()} == {"success"}
    extract = tis[("extract", -1)]
    assert extract["start_date"] == "2024-03-03T10:00:05+00:00" and extract["duration"] == pytest.approx(
        (NOW - datetime(2024, 3, 3, 10, 0, 5, tzinfo=UTC)).total_seconds())
    assert tis[("audit", -1)]["duration"] == 0.0 and tis[("audit", -1)]["try_number"] == 0
    assert tis[("notify", -1)]["try_number"] == 2  # a deferred try is counted back


def test_mark_failed(client: Client) -> None:
    client.patch(f"{SALES}/{MANUAL}", json={"state": "failed"})
    states = {key[0]: ti["state"] for key, ti in tis_of(client, "sales_etl", MANUAL).items()}
    assert states == {"extract": "failed", "transform": "skipped", "load": "skipped", "audit": None,
                      "notify": "failed"}


def test_mark_queued_only_stamps_the_end_date(client: Client) -> None:
    before = tis_of(client, "sales_etl", FIRST)
    body = client.patch(f"{SALES}/{FIRST}", json={"state": "queued"}).json()
    assert body["state"] == "queued" and body["end_date"] == "2024-04-01T12:00:00.123456+00:00"
    assert tis_of(client, "sales_etl", FIRST) == before


@pytest.mark.parametrize(("url", "body", "status", "title", "detail"), [
    (f"{SALES}/nope", {"state": "success"}, 404, "Dag Run id nope not found in dag sales_etl", None),
    (f"{SALES}/{FIRST}", {"state": "running"}, 400, "Bad Request",
     "'running' is not one of ['success', 'failed', 'queued'] - 'state'"),
    (f"{SALES}/{FIRST}", {}, 400, "Bad Request", "{'state': ['Missing data for required field.']}"),
    (f"{SALES}/{FIRST}", {"state": "success", "x": 1}, 400, "Bad Request", "{'x': ['Unknown field.']}"),
    (f"{SALES}/{FIRST}/setNote", {}, 400, "Bad Request", "{'note': ['Missing data for required field.']}"),
    (f"{SALES}/{FIRST}/setNote", {"note": None}, 400, "Bad Request", "None is not of type 'string' - 'note'"),
    (f"{SALES}/{FIRST}/setNote", {"note": "x" * 1001}, 400, "Bad Request",
     "{'note': ['Longer than maximum length 1000.']}"),
    (f"{SALES}/nope/setNote", {"note": "x"}, 404, "Dag Run id nope not found in dag sales_etl", None),
])
def test_patch_refusals(client: Client, url: str, body: dict[str, Any], status: int, title: str,
                        detail: str | None) -> None:
    problem = unchanged(client, "PATCH", url, json=body)
    assert (problem["status"], problem["title"], problem["detail"]) == (status, title, detail)


def test_set_note(client: Client) -> None:
    assert client.patch(f"{SALES}/{FIRST}/setNote", json={"note": "ça va ✓"}).json()["note"] == "ça va ✓"
    assert client.get(f"{SALES}/{FIRST}").json()["note"] == "ça va ✓"


def test_clear_dry_run_lists_every_task_instance(client: Client) -> None:
    before = business_state(client)
    for body in ({}, {"dry_run": True}):
        answer = client.post(f"{SALES}/{FIRST}/clear", json=body).json()
        assert [ti["task_id"] for ti in answer["task_instances"]] == ["audit", "extract", "load", "notify",
                                                                       "transform"]
        assert answer["task_instances"][0] == {"task_id": "audit", "dag_id": "sales_etl", "dag_run_id": FIRST,
                                               "execution_date": "2024-03-01T06:00:00+00:00"}
    assert business_state(client) == before


def test_clear_for_real(client: Client) -> None:
    body = client.post(f"{SALES}/{FIRST}/clear", json={"dry_run": False}).json()
    assert (body["state"], body["start_date"], body["end_date"]) == ("queued", None, None)
    tis = tis_of(client, "sales_etl", FIRST)
    assert {ti["state"] for ti in tis.values()} == {None}
    extract = tis[("extract", -1)]
    assert extract["max_tries"] == 3 and extract["start_date"] == "2024-03-02T06:00:10+00:00"


def test_clear_restarts_running_task_instances(client: Client) -> None:
    client.post(f"{SALES}/{MANUAL}/clear", json={"dry_run": False})
    assert tis_of(client, "sales_etl", MANUAL)[("extract", -1)]["state"] == "restarting"


def test_clear_404_has_three_spaces(client: Client) -> None:
    problem = unchanged(client, "POST", f"{SALES}/nope/clear", json={"dry_run": True})
    assert problem["title"] == "Dag Run id nope not found in dag   sales_etl"


def test_delete_cascades(client: Client) -> None:
    assert client.delete(f"{SALES}/{FIRST}").status_code == 204
    state = client.app.store.state
    assert ("sales_etl", FIRST) not in state.dag_runs and ("sales_etl", FIRST) not in state.tis_by_run
    assert not [key for key in state.task_instances if key[1] == FIRST]
    assert not [key for key in state.xcoms if key[1] == FIRST] and not [k for k in state.logs if k[1] == FIRST]
    assert ids(client.get(SALES).json()) == [SECOND, MANUAL]
    problem = unchanged(client, "DELETE", f"{SALES}/{FIRST}")
    assert (problem["title"], problem["detail"]) == (
        "Not Found", f"DAGRun with DAG ID: 'sales_etl' and DagRun ID: '{FIRST}' not found")


def test_delete_then_trigger_again(client: Client) -> None:
    client.delete(f"{SALES}/{MANUAL}")
    again = client.post(SALES, json={"dag_run_id": MANUAL, "logical_date": "2024-03-03T10:00:00+00:00"})
    assert again.status_code == 200 and len(tis_of(client, "sales_etl", MANUAL)) == 5


def test_upstream_dataset_events(client: Client) -> None:
    url = f"{API}/dags/reports_daily/dagRuns/dataset_triggered__2024-03-01T06:20:00+00:00/upstreamDatasetEvents"
    body = client.get(url).json()
    assert body["total_entries"] == 1 and body["dataset_events"][0]["source_dag_id"] == "sales_etl"
    assert client.get(f"{SALES}/{FIRST}/upstreamDatasetEvents").json() == {"dataset_events": [], "total_entries": 0}
    assert client.get(f"{SALES}/nope/upstreamDatasetEvents").json()["title"] == "DAGRun not found"


# --- timetables ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("expression", "when", "previous"), [
    ("*/15 * * * *", datetime(2024, 1, 1, 0, 7), datetime(2024, 1, 1, 0, 0)),
    ("0 9 * * MON-FRI", datetime(2024, 3, 4, 8, 0), datetime(2024, 3, 1, 9, 0)),  # Monday -> Friday
    ("30 2 1 JAN,jul *", datetime(2024, 5, 1), datetime(2024, 1, 1, 2, 30)),
    ("0 0 29 2 *", datetime(2025, 1, 1), datetime(2024, 2, 29)),
    ("0 0 1 * 0", datetime(2024, 3, 5), datetime(2024, 3, 3)),  # day-of-month OR day-of-week
    ("@yearly", datetime(2024, 1, 1), datetime(2023, 1, 1)),
    ("@hourly", datetime(2024, 1, 1, 5, 0, 0, 1), datetime(2024, 1, 1, 5, 0)),
    ("0 0 * * 7", datetime(2024, 3, 5), datetime(2024, 3, 3)),
])
def test_cron_previous(expression: str, when: datetime, previous: datetime) -> None:
    assert Cron.parse(expression).previous(when.replace(tzinfo=UTC)) == previous.replace(tzinfo=UTC)


@pytest.mark.parametrize("expression", ["* * *", "61 * * * *", "0 0 30 2 *", "x * * * *"])
def test_cron_errors(expression: str) -> None:
    with pytest.raises(CronError):
        Cron.parse(expression).previous(datetime(2024, 1, 1, tzinfo=UTC))


def test_relative_delta_interval() -> None:
    start, end = manual_data_interval({"__type": "RelativeDelta", "months": 1}, datetime(2024, 3, 31, tzinfo=UTC))
    assert (start, end) == (datetime(2024, 2, 29, tzinfo=UTC), datetime(2024, 3, 31, tzinfo=UTC))


# --- creation order and expansion lengths read from DAG sources ------------------------------------------

DECORATED = '''
@task
def extract(): ...
@task
def load(rows): ...
@task_group
def per_region(region):
    load(extract())

with DAG("d") as dag:
    first = BashOperator(task_id="first")
    for i in range(2):
        BashOperator(task_id="loop_" + str(i))
    load(extract())
    per_region.expand(region=["eu", "us"])
    per_region("x")
    last = EmptyOperator(task_id=f"last_{1}")
    BashOperator.partial(task_id="mapped").expand(bash_command=["a", "b", "c"])
    extract.expand_kwargs([{"a": 1}, {"a": 2}])
    load.partial(x=1).expand(rows=[1, 2], other=(3, 4, 5))
'''


def test_creation_order_and_map_lengths_from_source() -> None:
    from mockflow.store.dag_sources import declaration_order, map_lengths
    from mockflow.store.records import Dag, Task

    ids = ["extract", "first", "last_1", "load", "loop_0", "loop_1", "mapped", "per_region.extract",
           "per_region.load", "per_region__1.extract", "per_region__1.load"]
    dag = Dag(dag_id="d", fileloc="d.py", source=DECORATED, tasks={i: Task(task_id=i, downstream_task_ids=[])
                                                                    for i in ids})
    assert [task.task_id for task in declaration_order(dag)] == [
        "first", "loop_0", "loop_1", "extract", "load", "per_region.extract", "per_region.load",
        "per_region__1.extract", "per_region__1.load", "last_1", "mapped"]
    assert map_lengths(DECORATED) == {"per_region": 2, "mapped": 3, "extract": 2, "load": 6}
    assert map_lengths("this is not python(") == {}
