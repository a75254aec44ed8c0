"""The store: reset to the seed, independent snapshots, shared seeds, records shared by indexes."""

from __future__ import annotations

import gc
from datetime import UTC, datetime

import pytest
from starlette.testclient import TestClient

from mockflow import Settings, Store, create_app
from mockflow.store import freeze
from mockflow.store.changes import DEFAULT_LIMIT, MIN_LIMIT, limit_for
from mockflow.store.records import Dag, DagRun, Pool, TaskInstance, Variable
from mockflow.store.state import State
from tests.conftest import MINIMAL


def _state_with_a_run() -> State:
    state = State()
    state.dags["etl"] = Dag(dag_id="etl", fileloc="/dags/etl.py")
    run = DagRun(dag_id="etl", dag_run_id="r1", logical_date=datetime(2024, 1, 1, tzinfo=UTC))
    state.dag_runs.insert(run)
    state.task_instances.insert(TaskInstance(dag_id="etl", dag_run_id="r1", task_id="extract"))
    return state


def test_reset_undoes_the_logged_writes() -> None:
    store = Store(_state_with_a_run())
    state = store.state
    state.changes.put(state.pools, "extra", Pool("extra", 3))
    state.dag_runs.set_state(state.dag_runs[("etl", "r1")], "failed", datetime(2024, 1, 2, tzinfo=UTC))
    # the pool, the run's state and end date, its state's count and the new one's, its end-date order
    assert store.reset() == 6
    assert store.state is state
    assert "extra" not in store.state.pools
    assert store.state.dag_runs[("etl", "r1")].state == "queued"
    assert store.state.dag_runs[("etl", "r1")].end_date is None


def test_rows_added_behind_the_logs_back_make_reset_restore_the_whole_seed() -> None:
    store = Store(_state_with_a_run())
    store.state.pools["extra"] = Pool("extra", 3)
    assert store.reset() is None
    assert "extra" not in store.state.pools


def test_a_replaced_state_is_reset_by_restoring_the_seed() -> None:
    store = Store(_state_with_a_run())
    store.replace(State())
    store.state.changes.put(store.state.pools, "extra", Pool("extra", 3))
    assert store.reset() is None
    assert "etl" in store.state.dags and "extra" not in store.state.pools


def test_a_log_past_its_bound_gives_up_and_reset_restores_the_seed() -> None:
    store = Store(_state_with_a_run())
    store.state.changes.limit = 5
    for number in range(6):
        store.state.changes.put(store.state.pools, f"p{number}", Pool(f"p{number}", 1))
    assert len(store.state.changes) == 0 and store.state.changes.overflowed
    assert store.reset() is None
    assert store.state.pools == {} and store.state.changes.on


def test_login_counters_log_once_per_cycle_and_reset_exactly() -> None:
    # The soak's memory grew by three log entries per authenticated request until the bound.
    app = create_app(Settings(fixtures=(str(MINIMAL),)))
    client = TestClient(app)
    user = app.store.state.users["admin"]
    before = (user.login_count, user.last_login, user.fail_login_count)
    client.get("/api/v1/pools", auth=("admin", "admin"))
    logged = len(app.store.state.changes)
    for _ in range(50):
        client.get("/api/v1/pools", auth=("admin", "admin"))
    client.get("/api/v1/pools", auth=("admin", "wrong"))
    assert len(app.store.state.changes) == logged
    assert user.login_count == (before[0] or 0) + 51 and user.fail_login_count == 1
    assert app.store.reset() is not None  # undone from the log, not thawed
    user = app.store.state.users["admin"]
    assert (user.login_count, user.last_login, user.fail_login_count) == before
    client.get("/api/v1/pools", auth=("admin", "admin"))  # logged again in the new cycle
    assert app.store.state.users["admin"].login_count == (before[0] or 0) + 1
    assert app.store.reset() is not None and app.store.state.users["admin"].login_count == before[0]


def test_the_log_is_kept_only_while_undoing_beats_a_thaw() -> None:
    small = Store(_state_with_a_run())
    assert small.state.changes.limit == MIN_LIMIT  # a tiny seed: a thaw is cheap
    assert limit_for(166_115) == 20_764  # the default set's seed
    assert limit_for(300 * 1024 * 1024) == DEFAULT_LIMIT  # a million task instances: capped
    pool = Pool("extra", 1)
    small.state.changes.put(small.state.pools, "extra", pool)
    for number in range(MIN_LIMIT):
        small.state.changes.set(pool, slots=number)
    assert small.state.changes.overflowed and len(small.state.changes) == 0
    assert small.reset() is None and small.state.changes.on


def test_the_log_is_not_part_of_a_seed_or_a_snapshot() -> None:
    store = Store(_state_with_a_run())
    store.state.changes.put(store.state.pools, "extra", Pool("extra", 3))
    copy = store.snapshot()
    assert copy == store.state and len(copy.changes) == 0 and not copy.changes.on
    assert copy.dag_runs.changes is copy.changes is copy.task_instances.changes


def test_indexes_keep_pointing_at_the_same_records_after_reset() -> None:
    store = Store(_state_with_a_run())
    store.reset()
    state = store.state
    assert state.dag_runs[("etl", "r1")] is state.runs_by_dag["etl"]["r1"]
    assert state.task_instances[("etl", "r1", "extract", -1)] is state.tis_by_run[("etl", "r1")][("extract", -1)]


def test_snapshot_is_independent_and_comparable() -> None:
    store = Store(_state_with_a_run())
    before = store.snapshot()
    assert before == store.state
    tis = store.state.task_instances
    tis.set_state(tis[("etl", "r1", "extract", -1)], "success")
    assert before != store.state
    assert before.task_instances[("etl", "r1", "extract", -1)].state is None


def test_stores_built_from_one_frozen_seed_do_not_share_state() -> None:
    seed = freeze(_state_with_a_run())
    first, second = Store(seed), Store(seed)
    first.state.pools["only_here"] = Pool("only_here", 1)
    assert "only_here" not in second.state.pools


def test_apps_from_the_same_fixtures_are_isolated() -> None:
    settings = Settings(fixtures=(str(MINIMAL),))
    first, second = create_app(settings), create_app(settings)
    first.store.state.event_logs.clear()
    assert len(second.store.state.event_logs) == 3


def test_reset_to_another_seed() -> None:
    store = Store(State())
    store.reset(_state_with_a_run())
    assert "etl" in store.state.dags
    store.state.dags.clear()
    store.reset()
    assert "etl" in store.state.dags


def _collected(obj: object) -> bool:
    """Whether the cyclic collector still walks `obj` (frozen objects are out of its generations)."""
    return any(tracked is obj for tracked in gc.get_objects())


def test_a_serving_store_freezes_each_state_it_thaws_or_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    """`mockflow serve` sets `freeze_new_states`: a restored state leaves the collector's sight."""
    store = Store(State(variables={"k": Variable(key="k", value="v")}))
    try:
        monkeypatch.setattr(Store, "freeze_new_states", True)
        store.replace(State(variables={"imported": Variable(key="imported", value="v")}))
        assert not _collected(store.state.variables)
        assert store.reset() is None  # after a replace: a thaw of the seed
        assert list(store.state.variables) == ["k"] and not _collected(store.state.variables)
    finally:
        gc.unfreeze()
    monkeypatch.setattr(Store, "freeze_new_states", False)
    store.replace(State(variables={"imported": Variable(key="imported", value="v")}))
    assert _collected(store.state.variables)
    store.reset()
    assert _collected(store.state.variables)
