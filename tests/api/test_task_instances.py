"""Task instances: lists, lookups, mapped instances, state changes, clearing, notes, links, logs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import business_state
from tests.conftest import Client

RUNS = Path(__file__).parents[1] / "fixtures" / "runs_basic"
API = "/api/v1"
FIRST = "scheduled__2024-03-01T06:00:00+00:00"
SECOND = "scheduled__2024-03-02T06:00:00+00:00"
MANUAL = "manual__2024-03-03T10:00:00+00:00"
SALES = f"{API}/dags/sales_etl"
MAPPED = f"{API}/dags/fan_in/dagRuns/manual_mapped/taskInstances"
NOW = datetime(2024, 4, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def client(make_client: Callable[..., Client]) -> Client:
    client = make_client(RUNS)
    client.app.store.clock.freeze(NOW)
    return client


def keys(body: dict[str, Any]) -> list[tuple[str, str, int]]:
    return [(ti["dag_run_id"], ti["task_id"], ti["map_index"]) for ti in body["task_instances"]]


def states(client: Client, run_id: str, dag_id: str = "sales_etl") -> dict[str, Any]:
    body = client.get(f"{API}/dags/{dag_id}/dagRuns/{run_id}/taskInstances").json()
    return {ti["task_id"] if ti["map_index"] < 0 else f"{ti['task_id']}/{ti['map_index']}": ti["state"]
            for ti in body["task_instances"]}



def refused(client: Client, method: str, url: str, **kwargs: Any) -> Any:
    before = business_state(client)
    response = client.request(method, url, **kwargs)
    assert 400 <= response.status_code < 500, response.text
    assert business_state(client) == before
    return response.json()


# --- lists --------------------------------------------------------------------------------------------

def test_list_of_one_run_in_storage_order(client: Client) -> None:
    body = client.get(f"{SALES}/dagRuns/{FIRST}/taskInstances").json()
    assert [key[1] for key in keys(body)] == ["extract", "transform", "load", "audit", "notify"]
    assert body["total_entries"] == 5
    assert body["task_instances"][0] == {
        "task_id": "extract", "dag_id": "sales_etl", "dag_run_id": FIRST, "map_index": -1,
        "execution_date": "2024-03-01T06:00:00+00:00", "start_date": "2024-03-02T06:00:10+00:00",
        "end_date": "2024-03-02T06:01:10+00:00", "duration": 60.0, "state": "success", "try_number": 1,
        "max_tries": 2, "hostname": "worker-1", "unixname": "airflow", "pool": "default_pool", "pool_slots": 1,
        "queue": "default", "priority_weight": 5, "operator": "BashOperator", "queued_when": None, "pid": None,
        "executor_config": "{}", "note": None, "sla_miss": None, "rendered_fields": {}, "trigger": None,
        "triggerer_job": None,
    }


@pytest.mark.parametrize(("url", "query", "expected", "total"), [
    (f"{SALES}/dagRuns/~/taskInstances", {"state": "none"}, [(MANUAL, "audit", -1)], 1),
    (f"{SALES}/dagRuns/~/taskInstances", {"state": ["success", "failed"], "limit": 2},
     [(SECOND, "transform", -1), (FIRST, "extract", -1)], 6),  # grouped by state, as SQLite's index gives
    # One DAG, any run: SQLite walks `ti_dag_state`, so rows come by state (real 2.5.3)
    (f"{SALES}/dagRuns/~/taskInstances", {"pool": "etl"}, [(MANUAL, "load", -1), (FIRST, "load", -1),
                                                            (SECOND, "load", -1)], 3),
    (f"{SALES}/dagRuns/~/taskInstances", {"queue": "heavy,nope", "offset": 2}, [(FIRST, "transform", -1)], 3),
    (f"{SALES}/dagRuns/~/taskInstances", {"duration_gte": 100, "duration_lte": 1000},
     [(FIRST, "transform", -1), (FIRST, "load", -1), (SECOND, "extract", -1)], 3),
    (f"{SALES}/dagRuns/~/taskInstances", {"duration_lte": 0}, [], 0),
    (f"{SALES}/dagRuns/~/taskInstances", {"execution_date_gte": "2024-03-03T00:00:00+00:00", "limit": 1},
     [(MANUAL, "extract", -1)], 5),
    (f"{SALES}/dagRuns/~/taskInstances",
     {"start_date_gte": "2024-03-03T00:00:00Z", "end_date_lte": "2024-03-04T00:00:00Z"},
     [(SECOND, "transform", -1), (SECOND, "extract", -1)], 2),  # failed before success
    (f"{SALES}/dagRuns/~/taskInstances", {"limit": 0}, [], 15),
    (f"{SALES}/dagRuns/{FIRST}/taskInstances", {"limit": -1, "offset": 4}, [(FIRST, "notify", -1)], 5),
    (f"{API}/dags/~/dagRuns/{FIRST}/taskInstances", {"limit": 1}, [(FIRST, "extract", -1)], 5),
    (f"{API}/dags/~/dagRuns/~/taskInstances", {"limit": 1000, "offset": 23}, [("first", "marker", -1)], 24),
    (f"{SALES}/dagRuns/nope/taskInstances", {}, [], 0),
    (f"{API}/dags/nope/dagRuns/~/taskInstances", {}, [], 0),
])
def test_list_filters_and_unchecked_paging(client: Client, url: str, query: dict[str, Any],
                                           expected: list[tuple[str, str, int]], total: int) -> None:
    body = client.get(url, params=query).json()
    assert (keys(body), body["total_entries"]) == (expected, total)


def test_lists_are_not_filtered_by_dag_permissions(make_client: Callable[..., Client]) -> None:
    reports = make_client(RUNS, auth=("reports", "reports"))
    assert reports.get(f"{API}/dags/~/dagRuns/~/taskInstances").json()["total_entries"] == 24
    assert reports.post(f"{API}/dags/~/dagRuns/~/taskInstances/list", json={}).json()["total_entries"] == 24


@pytest.mark.parametrize(("body", "count"), [
    ({}, 24),
    ({"dag_ids": ["fan_in"]}, 6),
    ({"dag_ids": ["fan_in"], "state": ["none", "running"]}, 3),
    ({"dag_ids": ["sales_etl"], "duration_gte": 230.9}, 3),  # marshmallow Int: 230
    ({"dag_ids": ["sales_etl"], "page_limit": 1, "page_offset": 3}, 15),  # paging ignored
    ({"dag_ids": [], "pool": ["etl"], "queue": ["default"]}, 3),
    ({"execution_date_lte": "2024-01-31T00:00:00+00:00"}, 2),
    ({"dag_ids": ["nope"]}, 0),
])
def test_batch_list(client: Client, body: dict[str, Any], count: int) -> None:
    answer = client.post(f"{API}/dags/~/dagRuns/~/taskInstances/list", json=body).json()
    assert answer["total_entries"] == len(answer["task_instances"]) == count


@pytest.mark.parametrize(("body", "detail"), [
    ({"dag_run_ids": ["x"]}, "{'dag_run_ids': ['Unknown field.']}"),
    ({"state": ["exploded"]}, "'exploded' is not one of ['success', 'running', 'failed', 'upstream_failed', "
     "'skipped', 'up_for_retry', 'up_for_reschedule', 'queued', 'none', 'scheduled', 'deferred', 'removed', "
     "'restarting'] - 'state.0'"),
    ({"dag_ids": "fan_in"}, "'fan_in' is not of type 'array' - 'dag_ids'"),
])
def test_batch_list_bad_bodies(client: Client, body: dict[str, Any], detail: str) -> None:
    assert refused(client, "POST", f"{API}/dags/~/dagRuns/~/taskInstances/list", json=body)["detail"] == detail


# --- single task instances --------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "status", "title", "detail"), [
    (f"{SALES}/dagRuns/{FIRST}/taskInstances/nope", 404, "Task instance not found", None),
    (f"{SALES}/dagRuns/nope/taskInstances/extract", 404, "Task instance not found", None),
    (f"{MAPPED}/process", 404, "Task instance not found",
     "Task instance is mapped, add the map_index value to the URL"),
    (f"{MAPPED}/process/9", 404, "Task instance not found", None),
    (f"{MAPPED}/combine/0", 404, "Task instance not found", None),
    (f"{MAPPED}/combine/-1", 404, "Not Found", "The requested URL was not found on the server. If you entered "
     "the URL manually please check your spelling and try again."),
])
def test_get_404s(client: Client, url: str, status: int, title: str, detail: str | None) -> None:
    problem = client.get(url).json()
    assert (problem["status"], problem["title"], problem["detail"]) == (status, title, detail)


def test_get_one_and_mapped_one(client: Client) -> None:
    assert client.get(f"{SALES}/dagRuns/{MANUAL}/taskInstances/extract").json()["pid"] == 4242
    body = client.get(f"{MAPPED}/process/2").json()
    assert (body["map_index"], body["state"], body["hostname"]) == (2, "running", "worker-3")


@pytest.mark.parametrize(("query", "indexes", "total"), [
    ({}, [0, 1, 2, 3], 4),
    ({"order_by": "-map_index"}, [3, 2, 1, 0], 4),
    ({"order_by": "state"}, [3, 1, 2, 0], 4),  # NULL first
    ({"order_by": "-state"}, [0, 2, 1, 3], 4),
    ({"limit": 2, "offset": 1}, [1, 2], 4),
    ({"limit": -5}, [0, 1, 2, 3], 4),
    ({"state": ["success", "none"]}, [0, 3], 2),
    ({"order_by": ""}, [0, 1, 2, 3], 4),
])
def test_list_mapped(client: Client, query: dict[str, Any], indexes: list[int], total: int) -> None:
    body = client.get(f"{MAPPED}/process/listMapped", params=query).json()
    assert ([ti["map_index"] for ti in body["task_instances"]], body["total_entries"]) == (indexes, total)


@pytest.mark.parametrize(("url", "status", "title"), [
    (f"{API}/dags/nope/dagRuns/x/taskInstances/process/listMapped", 404, "DAG nope not found"),
    (f"{MAPPED}/nope/listMapped", 404, "Task id nope not found"),  # the real server crashes (500)
    (f"{MAPPED}/combine/listMapped", 404, "Task id combine is not mapped"),
    (f"{MAPPED}/process/listMapped?order_by=map_index", 400, "Bad Request"),
])
def test_list_mapped_refusals(client: Client, url: str, status: int, title: str) -> None:
    problem = client.get(url).json()
    assert (problem["status"], problem["title"]) == (status, title)


def test_list_mapped_of_a_run_without_expansions(client: Client) -> None:
    url = f"{API}/dags/fan_in/dagRuns/nope/taskInstances/process/listMapped"
    assert client.get(url).json() == {"task_instances": [], "total_entries": 0}


# --- PATCH one task instance ----------------------------------------------------------------------------

def test_patch_dry_run_changes_nothing(client: Client) -> None:
    before = business_state(client)
    body = client.patch(f"{SALES}/dagRuns/{SECOND}/taskInstances/transform", json={"dry_run": True,
                                                                                  "new_state": "success"}).json()
    assert body == {"task_id": "transform", "dag_id": "sales_etl", "dag_run_id": SECOND,
                    "execution_date": "2024-03-02T06:00:00+00:00"}
    assert business_state(client) == before


def test_patch_for_real_clears_failed_downstream(client: Client) -> None:
    url = f"{SALES}/dagRuns/{SECOND}/taskInstances/transform"
    assert client.patch(url, json={"dry_run": False, "new_state": "success"}).json() == {}
    assert states(client, SECOND) == {"extract": "success", "transform": "success", "load": None, "audit": None,
                                      "notify": None}
    transform = client.get(url).json()
    assert transform["end_date"] == "2024-03-03T06:30:00+00:00" and transform["try_number"] == 1
    run = client.get(f"{SALES}/dagRuns/{SECOND}").json()
    assert (run["state"], run["start_date"]) == ("queued", None)


def test_patch_mapped(client: Client) -> None:
    assert client.patch(f"{MAPPED}/process/3", json={"dry_run": False, "new_state": "failed"}).json() == {}
    body = client.get(f"{MAPPED}/process/3").json()
    assert (body["state"], body["start_date"], body["end_date"], body["duration"]) == (
        "failed", "2024-04-01T12:00:00+00:00", "2024-04-01T12:00:00+00:00", 0.0)
    assert states(client, "manual_mapped", "fan_in")["process/2"] == "running"


@pytest.mark.parametrize(("url", "body", "status", "title", "detail"), [
    (f"{SALES}/dagRuns/{FIRST}/taskInstances/load", {"new_state": "failed"}, 400, "Bad Request",
     "{'dry_run': ['Missing data for required field.']}"),  # the real server crashes (500)
    (f"{SALES}/dagRuns/{FIRST}/taskInstances/load", {"dry_run": True}, 400, "Bad Request",
     "{'new_state': ['Missing data for required field.']}"),
    (f"{SALES}/dagRuns/{FIRST}/taskInstances/load", {"dry_run": True, "new_state": "running"}, 400, "Bad Request",
     "'running' is not one of ['success', 'failed'] - 'new_state'"),
    (f"{SALES}/dagRuns/{FIRST}/taskInstances/load", {"dry_run": True, "new_state": "failed", "x": 1}, 400,
     "Bad Request", "{'x': ['Unknown field.']}"),
    (f"{API}/dags/nope/dagRuns/{FIRST}/taskInstances/load", {"dry_run": True, "new_state": "failed"}, 404,
     "DAG not found", "DAG 'nope' not found"),
    (f"{SALES}/dagRuns/{FIRST}/taskInstances/nope", {"dry_run": True, "new_state": "failed"}, 404,
     "Task not found", "Task 'nope' not found in DAG 'sales_etl'"),
    (f"{SALES}/dagRuns/nope/taskInstances/load", {"dry_run": True, "new_state": "failed"}, 404, "Not Found",
     "Task instance not found for task 'load' on DAG run with ID 'nope'"),
    (f"{MAPPED}/process", {"dry_run": True, "new_state": "failed"}, 404, "Not Found",
     "Task instance not found for task 'process' on DAG run with ID 'manual_mapped'"),
    (f"{MAPPED}/process/7", {"dry_run": True, "new_state": "failed"}, 404, "Not Found",
     "Task instance not found for task 'process' on DAG run with ID 'manual_mapped'"),
])
def test_patch_refusals(client: Client, url: str, body: dict[str, Any], status: int, title: str,
                        detail: str) -> None:
    problem = refused(client, "PATCH", url, json=body)
    assert (problem["status"], problem["title"], problem["detail"]) == (status, title, detail)


# --- notes ----------------------------------------------------------------------------------------------

def test_notes(client: Client) -> None:
    body = client.patch(f"{SALES}/dagRuns/{FIRST}/taskInstances/load/setNote", json={"note": "ré-run ✓"}).json()
    assert body["note"] == "ré-run ✓" and body["task_id"] == "load"
    body = client.patch(f"{MAPPED}/process/1/setNote", json={"note": "bad input", "map_index": 3}).json()
    assert (body["note"], body["map_index"]) == ("bad input", 1)  # a body map_index is ignored
    assert client.get(f"{MAPPED}/process/1").json()["note"] == "bad input"


@pytest.mark.parametrize(("url", "body", "status", "title", "detail"), [
    (f"{MAPPED}/process/setNote", {"note": "x"}, 404,
     "Task Instance not found for dag_id=fan_in, run_id=manual_mapped, task_id=process", None),
    (f"{MAPPED}/process/9/setNote", {"note": "x"}, 404,
     "Task Instance not found for dag_id=fan_in, run_id=manual_mapped, task_id=process", None),
    (f"{MAPPED}/combine/setNote", {}, 400, "Bad Request", "'note' is a required property"),
    (f"{MAPPED}/combine/setNote", {"note": "x" * 1001}, 400, "Bad Request",
     "{'note': ['Longer than maximum length 1000.']}"),
    (f"{MAPPED}/combine/setNote", {"note": "x", "other": 1}, 400, "Bad Request", "{'other': ['Unknown field.']}"),
])
def test_note_refusals(client: Client, url: str, body: dict[str, Any], status: int, title: str,
                       detail: str | None) -> None:
    problem = refused(client, "PATCH", url, json=body)
    assert (problem["status"], problem["title"], problem["detail"]) == (status, title, detail)


# --- clearTaskInstances ---------------------------------------------------------------------------------

CLEAR = f"{SALES}/clearTaskInstances"


def ref_keys(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(ti["dag_run_id"], ti["task_id"]) for ti in body["task_instances"]]


@pytest.mark.parametrize(("body", "expected"), [
    ({}, [(SECOND, "audit"), (SECOND, "load"), (SECOND, "notify"), (SECOND, "transform")]),
    ({"only_failed": False, "dag_run_id": FIRST, "task_ids": ["transform"]}, [(FIRST, "transform")]),
    ({"only_failed": False, "dag_run_id": FIRST, "task_ids": ["transform"], "include_downstream": True,
      "include_upstream": True}, [(FIRST, t) for t in ("audit", "extract", "load", "notify", "transform")]),
    ({"only_failed": False, "dag_run_id": SECOND, "task_ids": ["extract"], "include_past": True},
     [(FIRST, "extract"), (SECOND, "extract")]),
    ({"only_failed": False, "dag_run_id": SECOND, "task_ids": ["extract"], "include_future": True},
     [(MANUAL, "extract"), (SECOND, "extract")]),  # primary key order: task id, run id
    ({"only_failed": False, "only_running": True}, [(MANUAL, "extract")]),
    ({"start_date": "2024-03-02T00:00:00+00:00", "end_date": "2024-03-02T12:00:00Z", "only_failed": False,
      "task_ids": ["nope"]}, []),
])
def test_clear_dry_runs(client: Client, body: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    before = business_state(client)
    assert ref_keys(client.post(CLEAR, json=body).json()) == expected
    assert business_state(client) == before


def test_clear_for_real_answers_the_query_again(client: Client) -> None:
    # only_failed: the cleared TIs no longer match, so the answer is empty; the run keeps its state
    assert client.post(CLEAR, json={"dry_run": False, "dag_run_id": SECOND}).json() == {"task_instances": []}
    assert set(states(client, SECOND).values()) == {"success", None}
    assert client.get(f"{SALES}/dagRuns/{SECOND}").json()["state"] == "failed"
    body = client.post(CLEAR, json={"dry_run": False, "only_failed": False, "dag_run_id": MANUAL,
                                    "reset_dag_runs": True}).json()
    assert len(body["task_instances"]) == 5
    assert states(client, MANUAL) == {"extract": "restarting", "transform": None, "load": None, "audit": None,
                                      "notify": None}
    run = client.get(f"{SALES}/dagRuns/{MANUAL}").json()
    assert (run["state"], run["start_date"]) == ("queued", None)


@pytest.mark.parametrize(("url", "body", "title", "detail"), [
    (CLEAR, {"only_running": True}, "Bad Request",
     "{'_schema': ['only_failed and only_running both are set to True']}"),
    (CLEAR, {"start_date": "2024-03-02T00:00:00Z", "end_date": "2024-03-01T00:00:00Z"}, "Bad Request",
     "{'_schema': ['end_date is sooner than start_date']}"),
    (CLEAR, {"start_date": "2024-03-02T00:00:00Z", "dag_run_id": FIRST}, "Bad Request",
     "{'_schema': ['Exactly one of dag_run_id or start_date must be provided']}"),
    (CLEAR, {"end_date": "2024-03-02T00:00:00Z", "dag_run_id": FIRST}, "Bad Request",
     "{'_schema': ['Exactly one of dag_run_id or end_date must be provided']}"),
    (CLEAR, {"start_date": "2024-03-01T00:00:00Z", "end_date": "2024-03-02T00:00:00Z", "dag_run_id": FIRST},
     "Bad Request", "{'_schema': ['Exactly one of dag_run_id or (start_date and end_date) must be provided']}"),
    (CLEAR, {"start_date": "2024-03-01T00:00:00"}, "Invalid datetime format", "Naive datetime is disallowed"),
    (CLEAR, {"start_date": "yesterday", "bogus": 1}, "Bad Request",
     "{'start_date': ['Not a valid datetime.'], 'bogus': ['Unknown field.']}"),
    (CLEAR, {"task_ids": []}, "Bad Request", "[] is too short - 'task_ids'"),
    (f"{API}/dags/nope/clearTaskInstances", {}, "Dag id nope not found", None),
    (CLEAR, {"dag_run_id": "nope"}, "Dag Run id nope not found in dag sales_etl", None),
])
def test_clear_refusals(client: Client, url: str, body: dict[str, Any], title: str, detail: str | None) -> None:
    problem = refused(client, "POST", url, json=body)
    assert (problem["title"], problem["detail"]) == (title, detail)


# --- updateTaskInstancesState ---------------------------------------------------------------------------

SET = f"{SALES}/updateTaskInstancesState"
FLAGS = {"include_upstream": False, "include_downstream": False, "include_future": False, "include_past": False}


def test_set_state_dry_run_with_downstream(client: Client) -> None:
    body = {**FLAGS, "dry_run": True, "task_id": "extract", "dag_run_id": MANUAL, "new_state": "success",
            "include_downstream": True}
    assert ref_keys(client.post(SET, json=body).json()) == [(MANUAL, t) for t in ("audit", "extract", "load",
                                                                                    "notify", "transform")]


def test_set_state_for_real(client: Client) -> None:
    body = {**FLAGS, "dry_run": False, "task_id": "transform", "dag_run_id": SECOND, "new_state": "success"}
    assert ref_keys(client.post(SET, json=body).json()) == [(SECOND, "transform")]
    assert states(client, SECOND) == {"extract": "success", "transform": "success", "load": None, "audit": None,
                                      "notify": None}
    assert client.post(SET, json=body).json() == {"task_instances": []}  # already in that state


def test_set_state_by_execution_date_and_past_future(client: Client) -> None:
    body = {**FLAGS, "dry_run": True, "task_id": "load", "execution_date": "2024-03-02T06:00:00+00:00",
            "new_state": "failed", "include_past": True, "include_future": True}
    # the manual run's logical date is not on the cron schedule, so a range does not reach it
    assert ref_keys(client.post(SET, json=body).json()) == [(FIRST, "load"), (SECOND, "load")]


@pytest.mark.parametrize(("body", "title", "detail"), [
    ({"task_id": "load", "dag_run_id": FIRST, "new_state": "failed", "dry_run": True}, "Bad Request",
     "{'include_upstream': ['Missing data for required field.'], 'include_downstream': ['Missing data for required "
     "field.'], 'include_future': ['Missing data for required field.'], 'include_past': ['Missing data for "
     "required field.']}"),
    ({**FLAGS, "task_id": "load", "new_state": "failed", "dry_run": True}, "Bad Request",
     "{'_schema': ['Exactly one of execution_date or dag_run_id must be provided']}"),
    ({**FLAGS, "task_id": "load", "dag_run_id": FIRST, "execution_date": "2024-03-01T06:00:00Z",
      "new_state": "failed", "dry_run": True}, "Bad Request",
     "{'_schema': ['Exactly one of execution_date or dag_run_id must be provided']}"),
    ({**FLAGS, "task_id": "load", "dag_run_id": FIRST, "new_state": "failed"}, "Bad Request",
     "{'dry_run': ['Missing data for required field.']}"),  # the real server crashes (500)
    ({**FLAGS, "task_id": "nope", "dag_run_id": FIRST, "new_state": "failed", "dry_run": True},
     "Task ID nope not found", None),
    ({**FLAGS, "task_id": "load", "dag_run_id": "nope", "new_state": "failed", "dry_run": True}, "Not Found",
     "Task instance not found for task 'load' on DAG run with ID 'nope'"),
    ({**FLAGS, "task_id": "load", "execution_date": "2020-01-01T00:00:00+00:00", "new_state": "failed",
      "dry_run": True}, "Not Found",
     "Task instance not found for task 'load' on execution_date 2020-01-01 00:00:00+00:00"),
    ({**FLAGS, "task_id": "load", "execution_date": "2020-01-01T00:00:00", "new_state": "failed",
      "dry_run": True}, "Invalid datetime format", "Naive datetime is disallowed"),
])
def test_set_state_refusals(client: Client, body: dict[str, Any], title: str, detail: str | None) -> None:
    problem = refused(client, "POST", SET, json=body)
    assert (problem["title"], problem["detail"]) == (title, detail)


def test_set_state_on_missing_dag(client: Client) -> None:
    body = {**FLAGS, "task_id": "load", "dag_run_id": FIRST, "new_state": "failed", "dry_run": True}
    assert refused(client, "POST", f"{API}/dags/nope/updateTaskInstancesState", json=body)["title"] == (
        "Dag ID nope not found")


# --- extra links ------------------------------------------------------------------------------------------

LINKS = f"{API}/dags/trigger_parent/dagRuns/first/taskInstances"


def test_extra_links(client: Client) -> None:
    assert client.get(f"{LINKS}/kick/links").json() == {
        "Triggered DAG": "/dags/reports_daily/grid?base_date=2024-01-01T00%3A00%3A00%2B00%3A00"}
    assert client.get(f"{LINKS}/marker/links").json() == {
        "External DAG": "/dags/sales_etl/grid?execution_date=2024-01-01T00%3A00%3A00%2B00%3A00"}
    assert client.get(f"{SALES}/dagRuns/{FIRST}/taskInstances/load/links").json() == {}


@pytest.mark.parametrize(("url", "status", "title", "detail"), [
    (f"{API}/dags/nope/dagRuns/first/taskInstances/kick/links", 404, "DAG not found", 'DAG with ID = "nope" not found'),
    (f"{LINKS}/nope/links", 404, "Task not found", 'Task with ID = "nope" not found'),
    (f"{API}/dags/trigger_parent/dagRuns/nope/taskInstances/kick/links", 404, "DAG Run not found",
     'DAG Run with ID = "nope" not found'),
])
def test_extra_links_404s(client: Client, url: str, status: int, title: str, detail: str) -> None:
    problem = client.get(url).json()
    assert (problem["status"], problem["title"], problem["detail"]) == (status, title, detail)


def test_extra_links_of_a_mapped_task(client: Client) -> None:
    assert client.get(f"{MAPPED}/process/links").status_code == 400  # the real server crashes (500)


# --- logs -----------------------------------------------------------------------------------------------

JSON_ACCEPT = {"Accept": "application/json"}
LOG = f"{SALES}/dagRuns/{FIRST}/taskInstances/extract/logs"
FILE = f"/opt/airflow/logs/dag_id=sales_etl/run_id={FIRST}/task_id=extract/attempt=1.log"


def test_log_json_and_continuation(client: Client) -> None:
    body = client.get(f"{LOG}/1", headers={"Accept": "application/json"}).json()
    text = f"*** Reading local file: {FILE}\nINFO - extracting\nINFO - done\n"
    assert body["content"] == str([("worker-1", text)])
    more = client.get(f"{LOG}/1", params={"token": body["continuation_token"]}, headers=JSON_ACCEPT).json()
    assert more["content"] == "[('worker-1', '')]"
    assert client.get(f"{LOG}/1", params={"full_content": True}, headers=JSON_ACCEPT).json()["content"] == (
        body["content"])
    # `*/*` picks the first type offered, text (Werkzeug's best_match); no Accept header gives JSON
    assert client.get(f"{LOG}/1", headers={"Accept": "*/*"}).headers["content-type"].startswith("text/plain")


def test_log_text(client: Client) -> None:
    response = client.get(f"{LOG}/1", headers={"Accept": "text/plain"})
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == f"worker-1\n*** Reading local file: {FILE}\nINFO - extracting\nINFO - done\n\n"


@pytest.mark.parametrize(("url", "query", "content"), [
    (f"{LOG}/0", {}, "[('default_host', 'Error fetching the logs. Try number 0 is invalid.')]"),
    (f"{MAPPED}/process/logs/1", {"map_index": 1}, "[('', '*** Reading local file: /opt/airflow/logs/dag_id=fan_in/"
     "run_id=manual_mapped/task_id=process/map_index=1/attempt=1.log\\nERROR - bad item\\n')]"),
    (f"{SALES}/dagRuns/{SECOND}/taskInstances/load/logs/1", {}, "[('', \"*** Log file does not exist: "
     f"/opt/airflow/logs/dag_id=sales_etl/run_id={SECOND}/task_id=load/attempt=1.log\\n*** Fetching from: "
     f"http://:8793/log/dag_id=sales_etl/run_id={SECOND}/task_id=load/attempt=1.log\\n*** Failed to fetch log file "
     "from worker. Request URL is missing an 'http://' or 'https://' protocol.\\n\")]"),
])
def test_log_variants(client: Client, url: str, query: dict[str, Any], content: str) -> None:
    body = client.get(url, params=query, headers={"Accept": "image/png"}).json()  # unknown Accept: JSON
    assert body["content"] == content


@pytest.mark.parametrize(("url", "query", "status", "title"), [
    (f"{LOG}/1", {"token": "garbage"}, 400, "Bad Signature. Please use only the tokens provided by the API."),
    (f"{LOG}/1", {"token": "eyJlbmRfb2ZfbG9nIjp0cnVlfQ.PNn6o-EeWCLYQ1VuklL-IYqPA4c"}, 400,
     "Bad Signature. Please use only the tokens provided by the API."),
    (f"{MAPPED}/process/logs/1", {}, 404, "TaskInstance not found"),
    (f"{SALES}/dagRuns/nope/taskInstances/extract/logs/1", {}, 404, "TaskInstance not found"),
])
def test_log_refusals(client: Client, url: str, query: dict[str, Any], status: int, title: str) -> None:
    problem = client.get(url, params=query).json()
    assert (problem["status"], problem["title"]) == (status, title)


def test_tampered_token_is_refused(client: Client) -> None:
    token = client.get(f"{LOG}/1", headers=JSON_ACCEPT).json()["continuation_token"]
    payload, _, signature = token.partition(".")
    forged = "eyJsb2dfcG9zIjowfQ." + signature  # {"log_pos":0} with the old signature
    assert client.get(f"{LOG}/1", params={"token": forged}).status_code == 400
    assert client.get(f"{LOG}/1", params={"token": payload}).status_code == 400
