"""The store: reset to the seed, independent snapshots, shared seeds, records shared by indexes."""

from __future__ import annotations

from datetime import UTC, datetime

from mockflow import Settings, Store, create_app
from mockflow.store import freeze
from mockflow.store.records import Dag, DagRun, Pool, TaskInstance
from mockflow.store.state import State
from tests.conftest import MINIMAL


def _state_with_a_run() -> State:
    state = State()
    state.dags["etl"] = Dag(dag_id="etl", fileloc="/dags/etl.py")
    run = DagRun(dag_id="etl", dag_run_id="r1", logical_date=datetime(2024, 1, 1, tzinfo=UTC))
    state.dag_runs.insert(run)
    state.task_instances.insert(TaskInstance(dag_id="etl", dag_run_id="r1", task_id="extract"))
    return state


def test_reset_brings_back_the_seed() -> None:
    store = Store(_state_with_a_run())
    store.state.pools["extra"] = Pool("extra", 3)
    store.state.dag_runs[("etl", "r1")].state = "failed"
    store.reset()
    assert "extra" not in store.state.pools
    assert store.state.dag_runs[("etl", "r1")].state == "queued"


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
    store.state.tis_by_run[("etl", "r1")][("extract", -1)].state = "success"
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
