"""List order where Airflow 2.5.3 has no ORDER BY, or ties under one: the index SQLite's plan walks
decides it. Each case here was observed on a real 2.5.3 (SQLite) with runs of DAGs whose task
instances were put in different states; ties keep table (rowid, creation) order unless an index is
walked backwards, whichever index of mockflow's answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockflow.store.records import TaskInstance
from tests.conftest import FIXTURES, build_app

API = "/api/v1"
Key = tuple[str, str, str, int]


@pytest.fixture(scope="module")
def client() -> TestClient:
    client = TestClient(build_app(FIXTURES / "runs_basic"))
    client.auth = ("admin", "admin")
    return client


def table(client: TestClient) -> list[TaskInstance]:
    return list(client.app.store.state.task_instances.values())  # type: ignore[attr-defined]


def keys(body: dict[str, Any]) -> list[Key]:
    return [(ti["dag_id"], ti["dag_run_id"], ti["task_id"], ti["map_index"]) for ti in body["task_instances"]]


def key(ti: TaskInstance) -> Key:
    return ti.dag_id, ti.dag_run_id, ti.task_id, ti.map_index


def null_first(value: str | None) -> tuple[bool, str]:
    return value is not None, value or ""


def expected(client: TestClient, keep: Callable[[TaskInstance], bool],
             sort: Callable[[TaskInstance], Any] | None = None) -> list[Key]:
    rows = [ti for ti in table(client) if keep(ti)]
    return [key(ti) for ti in (rows if sort is None else sorted(rows, key=sort))]


def test_fixture_has_ties_and_mixed_states(client: TestClient) -> None:
    sales = [ti for ti in table(client) if ti.dag_id == "sales_etl"]
    assert len({ti.dag_run_id for ti in sales}) == 3
    assert [ti.state for ti in sales] != sorted((ti.state for ti in sales), key=null_first)


def test_one_run_of_one_dag_is_in_table_order_unless_a_state_in_list_walks_the_state_index(
        client: TestClient) -> None:
    run = "scheduled__2024-03-02T06:00:00+00:00"
    url = f"{API}/dags/sales_etl/dagRuns/{run}/taskInstances"
    body = client.get(url, params={"state": ["upstream_failed", "none", "success", "failed"]}).json()
    assert keys(body) == expected(client, lambda ti: ti.dag_run_id == run and ti.dag_id == "sales_etl")
    assert [k[2] for k in keys(body)] == ["extract", "transform", "load", "audit", "notify"]
    assert [k[2] for k in keys(client.get(url).json())] == ["extract", "transform", "load", "audit", "notify"]
    # without `none` the states are one IN: SQLite walks ti_dag_state (the shared set's step 28)
    body = client.get(url, params={"state": ["upstream_failed", "success", "failed"]}).json()
    assert [(k[2], ti["state"]) for k, ti in zip(keys(body), body["task_instances"], strict=True)] == [
        ("transform", "failed"), ("extract", "success"), ("load", "upstream_failed"), ("audit", "upstream_failed"),
        ("notify", "upstream_failed")]


def test_one_dag_every_run_comes_by_state_null_first(client: TestClient) -> None:
    body = client.get(f"{API}/dags/sales_etl/dagRuns/~/taskInstances").json()
    assert keys(body) == expected(client, lambda ti: ti.dag_id == "sales_etl", lambda ti: null_first(ti.state))
    assert body["task_instances"][0]["state"] is None
    # the same walk when the filter asks for NULL last
    body = client.get(f"{API}/dags/sales_etl/dagRuns/~/taskInstances", params={"state": ["success", "none"]}).json()
    assert [ti["state"] for ti in body["task_instances"]] == [None] + ["success"] * 5


def test_one_dag_with_a_logical_date_range_is_in_table_order(client: TestClient) -> None:
    body = client.get(f"{API}/dags/sales_etl/dagRuns/~/taskInstances",
                      params={"execution_date_gte": "2024-01-01T00:00:00+00:00"}).json()
    assert keys(body) == expected(client, lambda ti: ti.dag_id == "sales_etl")


@pytest.mark.parametrize(("asked", "groups"), [
    (["success", "failed"], ["failed", "success"]),  # one IN: the index's order
    (["failed", "success"], ["failed", "success"]),
    (["success", "none", "failed"], ["success", None, "failed"]),  # with IS NULL: each term in turn
    (["failed", "none", "success", "failed"], ["failed", None, "success"]),
    (["none", "success"], [None, "success"]),
])
def test_any_dag_by_state_groups_follow_the_plan(client: TestClient, asked: list[str],
                                                 groups: list[str | None]) -> None:
    rank = {value: position for position, value in enumerate(groups)}
    want = expected(client, lambda ti: ti.state in rank, lambda ti: rank[ti.state])
    body = client.get(f"{API}/dags/~/dagRuns/~/taskInstances", params={"state": asked}).json()
    assert (keys(body), body["total_entries"]) == (want, len(want))
    batch = client.post(f"{API}/dags/~/dagRuns/~/taskInstances/list", json={"state": asked}).json()
    assert keys(batch) == want
    run = "scheduled__2024-03-02T06:00:00+00:00"
    one_run = client.get(f"{API}/dags/~/dagRuns/{run}/taskInstances", params={"state": asked}).json()
    assert keys(one_run) == [k for k in want if k[1] == run]


def test_any_dag_by_pool_comes_by_pool_state_and_priority(client: TestClient) -> None:
    body = client.get(f"{API}/dags/~/dagRuns/~/taskInstances", params={"pool": ["etl", "default_pool"]}).json()
    assert keys(body) == expected(client, lambda ti: ti.pool in ("etl", "default_pool"),
                                  lambda ti: (ti.pool, null_first(ti.state), ti.priority_weight))


@pytest.mark.parametrize("query", [{}, {"duration_gte": 0}, {"queue": "default"},
                                   {"execution_date_gte": "2024-01-01T00:00:00+00:00"}])
def test_any_dag_otherwise_is_in_table_order(client: TestClient, query: dict[str, Any]) -> None:
    body = client.get(f"{API}/dags/~/dagRuns/~/taskInstances", params={**query, "limit": 1000}).json()
    got = keys(body)
    assert got == [k for k in expected(client, lambda ti: True) if k in set(got)]
    assert len(got) == body["total_entries"]


def test_batch_by_dag_ids_comes_by_dag_id_then_state(client: TestClient) -> None:
    dags = ["sales_etl", "fan_in"]
    body = client.post(f"{API}/dags/~/dagRuns/~/taskInstances/list", json={"dag_ids": dags}).json()
    assert keys(body) == expected(client, lambda ti: ti.dag_id in dags, lambda ti: (ti.dag_id, null_first(ti.state)))
    dated = client.post(f"{API}/dags/~/dagRuns/~/taskInstances/list",
                        json={"dag_ids": dags, "execution_date_gte": "2024-01-01T00:00:00+00:00"}).json()
    assert keys(dated) == expected(client, lambda ti: ti.dag_id in dags)


# --- DAG runs: ORDER BY one column, over the `dag_id_state` index ----------------------------------------

def run_keys(body: dict[str, Any]) -> list[tuple[str, str]]:
    return [(run["dag_id"], run["dag_run_id"]) for run in body["dag_runs"]]


def runs_in_table_order(client: TestClient) -> list[Any]:
    return list(client.app.store.state.dag_runs.values())  # type: ignore[attr-defined]


def test_run_order_by_ties_keep_dag_id_then_state_then_id(client: TestClient) -> None:
    runs = runs_in_table_order(client)
    base = sorted(runs, key=lambda run: (run.dag_id, run.state))  # stable over id order
    body = client.get(f"{API}/dags/~/dagRuns", params={"order_by": "external_trigger"}).json()
    assert run_keys(body) == [(r.dag_id, r.dag_run_id) for r in sorted(base, key=lambda r: r.external_trigger)]
    by_state = client.get(f"{API}/dags/~/dagRuns", params={"order_by": "-state"}).json()
    assert run_keys(by_state) == [(r.dag_id, r.dag_run_id) for r in sorted(base, key=lambda r: r.state, reverse=True)]
    by_dag = client.get(f"{API}/dags/~/dagRuns", params={"order_by": "-dag_id"}).json()
    assert run_keys(by_dag) == [(r.dag_id, r.dag_run_id) for r in base[::-1]]  # the IN list walked backwards
    batch = client.post(f"{API}/dags/~/dagRuns/list", json={"order_by": "-dag_id"}).json()
    assert run_keys(batch) == run_keys(by_dag)
    newest = client.get(f"{API}/dags/~/dagRuns", params={"order_by": "-id"}).json()
    assert run_keys(newest) == [(r.dag_id, r.dag_run_id) for r in runs[::-1]]


def test_run_order_by_state_descending_for_one_dag_reverses_ties() -> None:
    fresh = TestClient(build_app(FIXTURES / "runs_basic"))
    fresh.auth = ("admin", "admin")
    for day in ("05", "06"):
        made = fresh.post(f"{API}/dags/sales_etl/dagRuns", json={"dag_run_id": f"tie_{day}",
                                                                  "logical_date": f"2031-01-{day}T00:00:00+00:00"})
        assert (made.status_code, made.json()["state"]) == (200, "queued")
    sales = [run for run in runs_in_table_order(fresh) if run.dag_id == "sales_etl"]
    base = sorted(sales, key=lambda run: run.state)
    body = fresh.get(f"{API}/dags/sales_etl/dagRuns", params={"order_by": "-state"}).json()
    assert run_keys(body) == [(r.dag_id, r.dag_run_id) for r in base[::-1]]
    assert [key[1] for key in run_keys(body)][2:4] == ["tie_06", "tie_05"]  # dag_id_state walked backwards
    ties = fresh.get(f"{API}/dags/sales_etl/dagRuns", params={"order_by": "-external_trigger"}).json()
    assert run_keys(ties) == [(r.dag_id, r.dag_run_id) for r in sorted(base, key=lambda r: r.external_trigger,
                                                                         reverse=True)]
