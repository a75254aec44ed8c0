"""The task-instance state index stays equal to the task-instance table through every kind of change,
and cross-DAG lists filtered by state answer from it in creation order."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from mockflow.store import ti_selection
from mockflow.store.records import TaskInstance
from mockflow.store.state import State
from tests.conftest import FIXTURES, build_app

RUNS = FIXTURES / "runs_basic"
STATES = [None, "success", "failed", "running", "queued"]


def _assert_index_matches_table(state: State) -> None:
    states = {ti.state for ti in state.task_instances.values()} | set(state.task_instances.states())
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


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(STATES), st.sampled_from(["default_pool", "p2"]),
                               st.integers(1, 10_000)), max_size=40),
       asked=st.lists(st.sampled_from(["none", *[s for s in STATES if s]]), min_size=1, max_size=3),
       pool=st.sampled_from([None, ["p2"]]), offset=st.integers(0, 5), limit=st.sampled_from([None, 1, 3, 100]))
def test_a_state_filter_over_every_run_is_the_table_sorted_by_state(
        rows: list[tuple[str | None, str, int]], asked: list[str], pool: list[str] | None, offset: int,
        limit: int | None) -> None:
    """Answered from the state buckets one after the other: the same rows, total and order as
    filtering the whole table and sorting it by the list's order (ids in any order)."""
    state = State()
    for index, (ti_state, ti_pool, row_id) in enumerate(rows):
        state.task_instances.insert(TaskInstance(dag_id="d", dag_run_id=f"r{index % 3}", task_id=f"t{index}",
                                                 state=ti_state, pool=ti_pool, id=row_id))
    filters: dict[str, Any] = {"state": asked, **({"pool": pool} if pool else {})}
    order = ti_selection.scan_order(False, False, filters)
    assert isinstance(order, ti_selection.StateOrder)
    wanted = {None if value == "none" else value for value in asked}
    expected = sorted((ti for ti in state.task_instances.values()
                       if ti.state in wanted and (pool is None or ti.pool in pool)), key=order)
    end = None if limit is None else offset + limit
    assert ti_selection.select(state, None, filters, offset, limit, order) == (len(expected), expected[offset:end])


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(STATES), st.sampled_from(["default_pool", "p2"]),
                               st.integers(1, 5)), min_size=20, max_size=60),
       offset=st.integers(0, 3), limit=st.sampled_from([1, 2, 3]))
def test_a_short_page_of_many_rows_is_the_sorted_list_cut(rows: list[tuple[str | None, str, int]], offset: int,
                                                          limit: int) -> None:
    """A pool filter over every run sorts by pool, state and priority weight; a page much shorter
    than the matches is picked without sorting them all, and must be the same rows in order."""
    state = State()
    for index, (ti_state, ti_pool, weight) in enumerate(rows):
        state.task_instances.insert(TaskInstance(dag_id="d", dag_run_id="r", task_id=f"t{index}", state=ti_state,
                                                 pool=ti_pool, priority_weight=weight, id=index + 1))
    filters: dict[str, Any] = {"pool": ["default_pool", "p2"]}
    order = ti_selection.scan_order(False, False, filters)
    assert order is not None
    expected = sorted(state.task_instances.values(), key=order)
    assert ti_selection.select(state, None, filters, offset, limit, order) == (len(expected),
                                                                            expected[offset:offset + limit])
