"""Datasets: get_datasets, get_dataset, get_dataset_events (behaviour reference, Dataset)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

from mockflow.fixtureset.loaders import load_dataset_events, load_datasets
from mockflow.store.state import State
from tests.conftest import FIXTURES, Client

DAGS_BASIC = FIXTURES / "dags_basic"
DOCS = "https://airflow.apache.org/docs/apache-airflow/2.5.3/stable-rest-api-ref.html#section/Errors/"
ORDERS = "s3://warehouse/orders/daily.parquet"
CUSTOMERS = "s3://warehouse/crm/customers.parquet"
KPI = "postgres://analytics/public/kpi_daily"


@pytest.fixture
def client(make_client: Callable[..., Client]) -> Client:
    return make_client(DAGS_BASIC)


def state_of(client: Client) -> State:
    return client.app.store.state


def uris(body: dict[str, Any]) -> list[str]:
    return [dataset["uri"] for dataset in body["datasets"]]


def bad_request(detail: str) -> dict[str, Any]:
    return {"status": 400, "type": DOCS + "BadRequest", "title": "Bad Request", "detail": detail}


ORDERS_DATASET: dict[str, Any] = {
    "id": 1,
    "uri": ORDERS,
    "extra": {"format": "parquet", "owner": "data-eng"},
    "created_at": "2024-03-01T08:00:00+00:00",
    "updated_at": "2024-03-04T06:00:00.250000+00:00",
    # declared by the DAG files (x-mockflow), dated when the DAG was parsed
    "consuming_dags": [{"dag_id": "orders_report", "created_at": "2024-03-01T08:00:00+00:00",
                        "updated_at": "2024-03-01T08:00:00+00:00"}],
    "producing_tasks": [{"dag_id": "etl_orders", "task_id": "load", "created_at": "2024-03-04T07:59:58.654321+00:00",
                         "updated_at": "2024-03-04T07:59:58.654321+00:00"}],
}


# --- get_datasets ---------------------------------------------------------------------------------

def test_list_in_id_order_with_references_from_both_sides(client: Client) -> None:
    response = client.get("/api/v1/datasets")
    assert response.status_code == 200
    body = response.json()
    assert (uris(body), body["total_entries"]) == ([ORDERS, CUSTOMERS, KPI], 3)
    assert body["datasets"][0] == ORDERS_DATASET
    customers = body["datasets"][1]
    assert customers["consuming_dags"][0]["dag_id"] == "orders_report"
    assert customers["producing_tasks"] == [{"dag_id": "CRM_Sync", "task_id": "export_customers",
                                            "created_at": "2024-03-01T08:00:02+00:00",
                                            "updated_at": "2024-03-01T08:00:02+00:00"}]
    assert body["datasets"][2] == {"id": 3, "uri": KPI, "extra": {}, "created_at": "2024-03-02T09:30:00+00:00",
                                   "updated_at": "2024-03-02T09:30:00+00:00", "consuming_dags": [],
                                   "producing_tasks": []}


def test_the_dags_see_the_references_datasets_declare(client: Client) -> None:
    state = state_of(client)
    assert state.dags["orders_report"].dataset_triggers == [ORDERS, CUSTOMERS]
    assert state.dags["CRM_Sync"].tasks["export_customers"].outlets == [CUSTOMERS]


@pytest.mark.parametrize(("order_by", "expected"), [
    ("id", [ORDERS, CUSTOMERS, KPI]),
    ("-id", [KPI, CUSTOMERS, ORDERS]),
    ("uri", [KPI, CUSTOMERS, ORDERS]),
    ("-uri", [ORDERS, CUSTOMERS, KPI]),
    ("created_at", [ORDERS, CUSTOMERS, KPI]),
    ("-updated_at", [ORDERS, CUSTOMERS, KPI]),
])
def test_list_ordering(client: Client, order_by: str, expected: list[str]) -> None:
    assert uris(client.get("/api/v1/datasets", params={"order_by": order_by}).json()) == expected


@pytest.mark.parametrize("order_by", ["nope", "", "extra", "-consuming_dags"])
def test_list_bad_ordering(client: Client, order_by: str) -> None:
    response = client.get("/api/v1/datasets", params={"order_by": order_by})
    name = order_by.removeprefix("-")
    assert (response.status_code, response.json()) == (
        400, bad_request(f"Ordering with '{name}' is disallowed or the attribute does not exist on the model"))


@pytest.mark.parametrize(("pattern", "expected"), [
    ("warehouse", [ORDERS, CUSTOMERS]),
    ("CRM", [CUSTOMERS]),  # case-insensitive
    ("s3://%/crm", [CUSTOMERS]),  # SQL wildcards are live
    ("kpi_daily", [KPI]),
    ("nothing", []),
    ("", [ORDERS, CUSTOMERS, KPI]),
])
def test_uri_pattern_leaves_the_total_alone(client: Client, pattern: str, expected: list[str]) -> None:
    body = client.get("/api/v1/datasets", params={"uri_pattern": pattern}).json()
    assert (uris(body), body["total_entries"]) == (expected, 3)  # the real server counts every dataset


@pytest.mark.parametrize(("params", "expected"), [
    ({"limit": 1}, [ORDERS]),
    ({"limit": 2, "offset": 1}, [CUSTOMERS, KPI]),
    ({"offset": 3}, []),
    ({"limit": 0}, [ORDERS, CUSTOMERS, KPI]),
])
def test_list_pagination(client: Client, params: dict[str, Any], expected: list[str]) -> None:
    body = client.get("/api/v1/datasets", params=params).json()
    assert (uris(body), body["total_entries"]) == (expected, 3)


@pytest.mark.parametrize(("query", "detail"), [
    ("limit=x", "Wrong type, expected 'integer' for query parameter 'limit'"),
    ("dag_id=x", None),
])
def test_list_bad_parameters(client: Client, query: str, detail: str | None) -> None:
    response = client.get(f"/api/v1/datasets?{query}")
    assert response.status_code == 400
    if detail:
        assert response.json()["detail"] == detail


# --- get_dataset ----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", [ORDERS, quote(ORDERS, safe=""), quote(ORDERS, safe=":")])
def test_get_by_raw_or_encoded_uri(client: Client, path: str) -> None:
    response = client.get(f"/api/v1/datasets/{path}")
    assert (response.status_code, response.json()) == (200, ORDERS_DATASET)


@pytest.mark.parametrize("uri", ["s3://dt_missing", "s3://warehouse/orders", "S3://WAREHOUSE/ORDERS/DAILY.PARQUET",
                                 "ünïcødé://x", "s3://" + "x" * 400])
def test_get_a_missing_dataset(client: Client, uri: str) -> None:
    response = client.get(f"/api/v1/datasets/{quote(uri, safe='')}")
    assert (response.status_code, response.json()) == (404, {
        "status": 404, "type": DOCS + "NotFound", "title": "Dataset not found",
        "detail": f"The Dataset with uri: `{uri}` was not found"})


def test_datasets_events_is_the_event_list_not_a_dataset(client: Client) -> None:
    assert "dataset_events" in client.get("/api/v1/datasets/events").json()


# --- get_dataset_events ---------------------------------------------------------------------------

ORDERS_EVENT: dict[str, Any] = {
    "id": 1,
    "dataset_id": 1,
    "dataset_uri": ORDERS,
    "extra": {"rows": 1204},
    "source_dag_id": "etl_orders",
    "source_task_id": "load",
    "source_run_id": "scheduled__2024-03-03T06:00:00+00:00",
    "source_map_index": -1,
    "created_dagruns": [{
        "dag_id": "orders_report", "dag_run_id": "dataset_triggered__2024-03-04T06:05:00+00:00",
        "logical_date": "2024-03-04T06:05:00+00:00", "start_date": None, "end_date": None, "state": "success",
        "data_interval_start": None, "data_interval_end": None,
    }],
    "timestamp": "2024-03-04T06:04:59+00:00",
}


def event_ids(body: dict[str, Any]) -> list[int]:
    return [event["id"] for event in body["dataset_events"]]


def test_events_by_timestamp_with_the_runs_they_created(client: Client) -> None:
    body = client.get("/api/v1/datasets/events").json()
    assert (event_ids(body), body["total_entries"]) == ([2, 3, 1], 3)
    assert body["dataset_events"][2] == ORDERS_EVENT
    assert body["dataset_events"][1]["extra"] == {}


@pytest.mark.parametrize(("params", "expected"), [
    ({"dataset_id": 1}, [3, 1]),
    ({"dataset_id": 3}, []),
    ({"source_dag_id": "CRM_Sync"}, [2]),
    ({"source_dag_id": "crm_sync"}, []),  # exact
    ({"source_task_id": "load"}, [3, 1]),
    ({"source_run_id": "scheduled__2024-03-02T06:00:00+00:00"}, [3]),
    ({"source_map_index": -1}, [2, 3, 1]),
    ({"source_map_index": 5}, []),
    ({"dataset_id": 1, "source_run_id": "x"}, []),
    # falsy values filter nothing, as on the real server
    ({"dataset_id": 0}, [2, 3, 1]),
    ({"source_map_index": 0}, [2, 3, 1]),
    ({"source_dag_id": ""}, [2, 3, 1]),
])
def test_event_filters(client: Client, params: dict[str, Any], expected: list[int]) -> None:
    body = client.get("/api/v1/datasets/events", params=params).json()
    assert (event_ids(body), body["total_entries"]) == (expected, len(expected))


@pytest.mark.parametrize(("order_by", "expected"), [
    ("timestamp", [2, 3, 1]),
    ("-timestamp", [1, 3, 2]),
    ("source_dag_id", [2, 1, 3]),  # ties keep id order
    ("-source_run_id", [1, 3, 2]),
    ("source_map_index", [1, 2, 3]),
])
def test_event_ordering(client: Client, order_by: str, expected: list[int]) -> None:
    assert event_ids(client.get("/api/v1/datasets/events", params={"order_by": order_by}).json()) == expected


@pytest.mark.parametrize(("query", "detail"), [
    ("order_by=nope", "Ordering with 'nope' is disallowed or the attribute does not exist on the model"),
    ("order_by=id", "Ordering with 'id' is disallowed or the attribute does not exist on the model"),
    ("dataset_id=abc", "Wrong type, expected 'integer' for query parameter 'dataset_id'"),
    ("source_map_index=x", "Wrong type, expected 'integer' for query parameter 'source_map_index'"),
])
def test_event_bad_parameters(client: Client, query: str, detail: str) -> None:
    response = client.get(f"/api/v1/datasets/events?{query}")
    assert (response.status_code, response.json()) == (400, bad_request(detail))


def test_event_pagination(client: Client) -> None:
    body = client.get("/api/v1/datasets/events", params={"limit": 1, "offset": 1, "order_by": "-timestamp"}).json()
    assert (event_ids(body), body["total_entries"]) == ([3], 3)


# --- permissions ----------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/datasets", f"/api/v1/datasets/{quote(ORDERS, safe='')}",
                                  "/api/v1/datasets/events"])
@pytest.mark.parametrize(("user", "status"), [("viewer", 200), ("orders", 200), ("nobody", 403), (None, 401)])
def test_permissions(make_client: Callable[..., Client], path: str, user: str | None, status: int) -> None:
    client = make_client(DAGS_BASIC, auth=(user, user) if user else None)
    assert client.get(path).status_code == status


# --- loading ------------------------------------------------------------------------------------------

def test_loading_without_ids_or_timestamps() -> None:
    state = State()
    load_datasets(state, [{"uri": "file:///a"}, {"uri": "file:///b", "extra": None}], "test")
    load_datasets(state, [{"uri": "file:///a", "extra": {"v": 2}}], "test")  # a later layer replaces it
    assert [(d.id, d.uri, d.extra) for d in state.datasets.values()] == [(1, "file:///a", {"v": 2}),
                                                                         (2, "file:///b", {})]
    load_dataset_events(state, [{"dataset_id": 2, "timestamp": "2024-01-01T00:00:00Z"}], "test")
    event = state.dataset_events[1]
    assert (event.source_map_index, event.created_dagruns, event.extra) == (-1, [], {})
