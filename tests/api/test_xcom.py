"""XCom entries: the `~` lists with their fixed order, paging and permissions; single entries."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Client

RUNS = Path(__file__).parents[1] / "fixtures" / "runs_basic"
API = "/api/v1"
FIRST = "scheduled__2024-03-01T06:00:00+00:00"
ENTRIES = f"{API}/dags/sales_etl/dagRuns/{FIRST}/taskInstances/extract/xcomEntries"


@pytest.fixture
def client(make_client: Callable[..., Client]) -> Client:
    return make_client(RUNS)


def keys(body: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(entry["dag_id"], entry["task_id"], entry["key"]) for entry in body["xcom_entries"]]


def test_list_of_one_task_instance(client: Client) -> None:
    body = client.get(ENTRIES).json()
    assert body == {"xcom_entries": [
        {"key": "count", "timestamp": "2024-03-02T06:01:08+00:00", "execution_date": "2024-03-01T06:00:00+00:00",
         "task_id": "extract", "dag_id": "sales_etl"},
        {"key": "return_value", "timestamp": "2024-03-02T06:01:09+00:00",
         "execution_date": "2024-03-01T06:00:00+00:00", "task_id": "extract", "dag_id": "sales_etl"},
    ], "total_entries": 2}


@pytest.mark.parametrize(("url", "query", "expected", "total"), [
    (f"{API}/dags/~/dagRuns/~/taskInstances/~/xcomEntries", {}, [
        ("trigger_parent", "kick", "trigger_execution_date_iso"), ("fan_in", "process", "return_value"),
        ("fan_in", "process", "return_value"), ("sales_etl", "extract", "count"),
        ("sales_etl", "extract", "return_value"), ("sales_etl", "transform", "return_value"),
        ("reports_daily", "build", "report_url")], 7),
    (f"{API}/dags/sales_etl/dagRuns/~/taskInstances/~/xcomEntries", {"limit": 1, "offset": 2},
     [("sales_etl", "transform", "return_value")], 3),
    (f"{API}/dags/~/dagRuns/{FIRST}/taskInstances/transform/xcomEntries", {}, [
        ("sales_etl", "transform", "return_value")], 1),
    (f"{API}/dags/~/dagRuns/~/taskInstances/~/xcomEntries", {"limit": 0, "offset": 6},
     [("reports_daily", "build", "report_url")], 7),
    (f"{API}/dags/nope/dagRuns/~/taskInstances/~/xcomEntries", {}, [], 0),
    (f"{API}/dags/sales_etl/dagRuns/nope/taskInstances/extract/xcomEntries", {}, [], 0),
])
def test_lists(client: Client, url: str, query: dict[str, Any], expected: list[tuple[str, str, str]],
               total: int) -> None:
    body = client.get(url, params=query).json()
    assert (keys(body), body["total_entries"]) == (expected, total)


def test_tilde_is_narrowed_to_readable_dags(make_client: Callable[..., Client]) -> None:
    reports = make_client(RUNS, auth=("reports", "reports"))
    body = reports.get(f"{API}/dags/~/dagRuns/~/taskInstances/~/xcomEntries").json()
    assert keys(body) == [("reports_daily", "build", "report_url")]
    assert reports.get(ENTRIES).status_code == 403


@pytest.mark.parametrize(("query", "status", "field", "text"), [
    ({"limit": -1}, 400, "title", "Page limit must be a positive integer"),
    ({"map_index": 0}, 400, "detail", "Extra query parameter(s) map_index not in spec"),
    ({"offset": -1}, 400, "detail", None),
])
def test_list_refusals(client: Client, query: dict[str, Any], status: int, field: str, text: str | None) -> None:
    response = client.get(ENTRIES, params=query)
    assert response.status_code == status
    if text is not None:
        assert response.json()[field] == text


@pytest.mark.parametrize(("key", "value"), [
    ("count", "42"),
    ("return_value", "{'rows': 10, 'ok': True, 'note': None}"),
])
def test_get_entry(client: Client, key: str, value: str) -> None:
    for query in ({}, {"deserialize": "true"}):
        body = client.get(f"{ENTRIES}/{key}", params=query).json()
        assert body["value"] == value and body["key"] == key
        assert body["execution_date"] == "2024-03-01T06:00:00+00:00"


def test_get_entry_with_unicode_key_missing(client: Client) -> None:
    problem = client.get(f"{ENTRIES}/clé ✓").json()
    assert (problem["status"], problem["title"], problem["detail"]) == (404, "XCom entry not found", None)


def test_get_entry_of_a_mapped_task(client: Client) -> None:
    url = f"{API}/dags/fan_in/dagRuns/manual_mapped/taskInstances/process/xcomEntries/return_value"
    assert client.get(url).status_code == 400  # several map indexes: the real server crashes (500)


def test_entries_go_with_their_run(client: Client) -> None:
    client.delete(f"{API}/dags/sales_etl/dagRuns/{FIRST}")
    assert client.get(ENTRIES).json() == {"xcom_entries": [], "total_entries": 0}
    assert client.get(f"{ENTRIES}/count").status_code == 404


def test_python_str_of_values() -> None:
    from mockflow.api.shapes.xcom import entry_to_wire
    from mockflow.store.records import XCom
    from mockflow.store.state import State

    state = State()
    for value, text in ((42, "42"), ({"a": [1, None, True]}, "{'a': [1, None, True]}"), (None, None), ("s", "s")):
        entry = XCom("d", "r", "t", "k", value, timestamp=None)  # type: ignore[arg-type]
        assert entry_to_wire(state, entry)["value"] == text
