"""The task-instance state index stays equal to the task-instance table through every kind of change,
and cross-DAG lists filtered by state answer from it in creation order."""

from __future__ import annotations

from starlette.testclient import TestClient

from mockflow.store.state import State
from tests.conftest import FIXTURES, build_app

RUNS = FIXTURES / "runs_basic"


def _assert_index_matches_table(state: State) -> None:
    states = {ti.state for ti in state.task_instances.values()} | set(state.tis_by_state)
    for value in states:
        expected = [ti for ti in state.task_instances.values() if ti.state == value]
        assert list(state.task_instances.in_state(value)) == expected, value


def test_index_follows_triggers_state_changes_clears_and_deletes() -> None:
    app = build_app(RUNS)
    client = TestClient(app)
    client.auth = ("admin", "admin")
    _assert_index_matches_table(app.store.state)
    run = client.post("/api/v1/dags/sales_etl/dagRuns", json={"dag_run_id": "idx", "logical_date":
                                                                "2031-01-01T00:00:00+00:00"})
    assert run.status_code == 200
    _assert_index_matches_table(app.store.state)
    assert client.patch("/api/v1/dags/sales_etl/dagRuns/idx", json={"state": "success"}).status_code == 200
    _assert_index_matches_table(app.store.state)
    cleared = client.post("/api/v1/dags/sales_etl/clearTaskInstances", json={"dry_run": False, "only_failed": False})
    assert cleared.status_code == 200
    _assert_index_matches_table(app.store.state)
    assert client.patch("/api/v1/dags/sales_etl/dagRuns/idx", json={"state": "failed"}).status_code == 200
    assert client.delete("/api/v1/dags/sales_etl/dagRuns/idx").status_code == 204
    _assert_index_matches_table(app.store.state)
    assert client.delete("/api/v1/dags/reports_daily").status_code == 204
    _assert_index_matches_table(app.store.state)
    app.store.reset()
    _assert_index_matches_table(app.store.state)


def test_cross_dag_state_filter_lists_in_creation_order_with_totals() -> None:
    app = build_app(RUNS)
    client = TestClient(app)
    client.auth = ("admin", "admin")
    state = app.store.state
    for query in ({"state": "success"}, {"state": ["failed", "none"]}, {"state": ["none", "failed"]},
                  {"state": ["success", "failed"]}, {"state": ["success", "none", "failed"]},
                  {"state": "success", "limit": 2, "offset": 1},
                  {"state": "success", "pool": "default_pool"}):
        body = client.get("/api/v1/dags/~/dagRuns/~/taskInstances", params=query).json()
        wanted = query["state"] if isinstance(query["state"], list) else [query["state"]]
        values = list(dict.fromkeys(None if s == "none" else s for s in wanted))
        if None not in values:  # an IN walks the state index in order; with IS NULL, each term in turn
            values.sort(key=lambda v: (v is not None, v or ""))
        rows = [ti for value in values for ti in state.task_instances.values() if ti.state == value
                and ("pool" not in query or ti.pool == query["pool"])]
        offset = int(str(query.get("offset", 0)))
        limit = int(str(query.get("limit", 100)))
        assert body["total_entries"] == len(rows)
        assert [(t["dag_id"], t["dag_run_id"], t["task_id"], t["map_index"]) for t in body["task_instances"]] == [
            (ti.dag_id, ti.dag_run_id, ti.task_id, ti.map_index) for ti in rows[offset:offset + limit]]
