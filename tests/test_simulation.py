"""The simulated scheduler, in virtual time with exact timestamps: runs and task instances move
the way Airflow 2.5's scheduler moves them (docs/simulation.md)."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from mockflow.clock import Clock
from mockflow.server import LiveServer
from mockflow.simulation import Simulation
from mockflow.simulation.rules import TRIGGER_RULES, Upstream, decide
from mockflow.store import Store
from mockflow.store.dag_runs import clear_run, trigger_dag, update_state
from mockflow.store.datasets import reflect_dag
from mockflow.store.records import Dag, DagRun, Pool, Task, TaskInstance
from mockflow.store.state import State
from mockflow.wire import parse_datetime
from tests.conftest import build_app

API = "/api/v1"

T0 = datetime(2024, 6, 10, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def make_dag(edges: Mapping[str, Sequence[str]], *, dag_id: str = "d", rules: Mapping[str, str] | None = None,
             scripts: Mapping[str, dict[str, Any]] | None = None, retries: Mapping[str, int] | None = None,
             pool: str = "default_pool", **fields: Any) -> Dag:
    tasks = {}
    for task_id, children in edges.items():
        wire: dict[str, Any] = {"trigger_rule": (rules or {}).get(task_id, "all_success"),
                                "retry_delay": {"__type": "TimeDelta", "days": 0, "seconds": 60, "microseconds": 0}}
        tasks[task_id] = Task(task_id=task_id, downstream_task_ids=list(children), pool=pool,
                              retries=(retries or {}).get(task_id, 0), script=dict((scripts or {}).get(task_id, {})),
                              wire=wire)
    return Dag(dag_id=dag_id, fileloc=f"/dags/{dag_id}.py", tasks=tasks, **{"is_paused": False, **fields})


def make_store(*dags: Dag, slots: int = 128) -> Store:
    state = State()
    state.pools["default_pool"] = Pool("default_pool", slots, id=1)
    for dag in dags:
        state.dags[dag.dag_id] = dag
    return Store(state, clock=Clock(frozen_at=T0))


def trigger(store: Store, dag_id: str = "d", run_id: str = "r1", when: datetime = T0) -> DagRun:
    with store.lock:
        run = trigger_dag(store.state, store.state.dags[dag_id], run_id, when, None, None)
    return run


def idle(store: Store, simulation: Simulation | None = None) -> Simulation:
    simulation = simulation or Simulation()
    simulation.observe(store.state, store.clock.now())  # what a request's step does after a trigger
    simulation.run_until_idle(store)
    return simulation


def catch_up(store: Store, simulation: Simulation, seconds: float) -> None:
    """The virtual clock moved to T0 + seconds, and a request made the simulation catch up."""
    store.clock.set(at(seconds))
    simulation.catch_up(store.state, at(seconds))


def tis(store: Store, run_id: str = "r1", dag_id: str = "d") -> dict[str, TaskInstance]:
    return {key[0] if key[1] < 0 else f"{key[0]}[{key[1]}]": ti
            for key, ti in store.state.task_instances.of_run(dag_id, run_id).items()}


def states(store: Store, run_id: str = "r1") -> dict[str, str | None]:
    return {task_id: ti.state for task_id, ti in tis(store, run_id).items()}


# --- a run, second by second ------------------------------------------------------------------------

def test_a_chain_runs_in_dependency_order_with_exact_timestamps() -> None:
    store = make_store(make_dag({"a": ["b"], "b": []}))
    run = trigger(store)
    idle(store)
    a, b = tis(store)["a"], tis(store)["b"]
    # noticed at the next scheduler loop (1 s), queued at once, running 1 s later, 5 s of work
    assert (run.state, run.start_date, run.end_date) == ("success", at(1), at(15))
    assert run.last_scheduling_decision == at(15)
    assert (a.queued_when, a.start_date, a.end_date, a.duration) == (at(1), at(2), at(7), 5.0)
    assert (b.queued_when, b.start_date, b.end_date, b.duration) == (at(8), at(9), at(14), 5.0)
    assert (a.state, a.try_number, a.hostname, a.unixname) == ("success", 1, a.hostname, "airflow")
    assert a.hostname.startswith("airflow-worker-") and a.pid is not None
    assert store.clock.now() == at(15)  # run_until_idle moved the virtual clock to the last move


def test_nothing_moves_until_the_clock_does() -> None:
    store = make_store(make_dag({"a": []}))
    simulation = Simulation()
    run = trigger(store)
    simulation.observe(store.state, T0)
    simulation.catch_up(store.state, T0)
    assert run.state == "queued"
    store.clock.advance(timedelta(seconds=3))
    simulation.catch_up(store.state, store.clock.now())
    assert (run.state, states(store)) == ("running", {"a": "running"})
    assert tis(store)["a"].try_number == 1


def test_a_paused_dags_run_waits() -> None:
    store = make_store(make_dag({"a": []}, is_paused=True))
    run = trigger(store)
    idle(store)
    assert (run.state, states(store)) == ("queued", {"a": None})


def test_max_active_runs_holds_later_runs_queued() -> None:
    store = make_store(make_dag({"a": []}, max_active_runs=1))
    first, second = trigger(store, run_id="r1"), trigger(store, run_id="r2", when=at(-60))
    simulation = Simulation()
    simulation.observe(store.state, T0)
    catch_up(store, simulation, 1)
    # the earlier logical date goes first
    assert (first.state, second.state) == ("queued", "running")
    simulation.run_until_idle(store)
    assert (second.end_date, first.start_date) == (at(8), at(8))
    assert first.state == "success"


def test_pool_slots_and_max_active_tasks_bound_what_runs() -> None:
    store = make_store(make_dag({"a": [], "b": [], "c": []}), slots=2)
    trigger(store)
    simulation = Simulation()
    simulation.observe(store.state, T0)
    catch_up(store, simulation, 1)
    assert sorted(str(s) for s in states(store).values()) == ["queued", "queued", "scheduled"]
    simulation.run_until_idle(store)
    assert tis(store)["c"].queued_when == at(7)  # when a slot came free

    store = make_store(make_dag({"a": [], "b": [], "c": []}, max_active_tasks=1))
    trigger(store)
    idle(store)
    starts = sorted(ti.start_date for ti in tis(store).values() if ti.start_date)
    assert starts == [at(2), at(8), at(14)]


def test_queueing_follows_priority_weight() -> None:
    store = make_store(make_dag({"low": [], "high": []}), slots=1)
    trigger(store)
    with store.lock:
        store.state.task_instances.update(tis(store)["high"], priority_weight=10)
    idle(store)
    assert tis(store)["high"].start_date == at(2) and tis(store)["low"].start_date == at(8)


# --- outcomes, retries, trigger rules ------------------------------------------------------------------

def test_a_failure_retries_after_retry_delay_with_the_next_try_number() -> None:
    store = make_store(make_dag({"a": []}, scripts={"a": {"outcomes": ["failed", "success"], "duration": 10}},
                                retries={"a": 1}))
    run = trigger(store)
    simulation = Simulation()
    simulation.observe(store.state, T0)
    catch_up(store, simulation, 12)
    a = tis(store)["a"]
    assert (a.state, a.try_number, a.end_date, a.duration) == ("up_for_retry", 1, at(12), 10.0)
    simulation.run_until_idle(store)
    # 60 s of retry delay, then scheduled, queued and started in turn
    assert (a.state, a.try_number, a.queued_when, a.start_date, a.end_date) == ("success", 2, at(72), at(73), at(83))
    assert run.state == "success"
    first, second = (store.state.logs[("d", "r1", "a", -1, n)].content for n in (1, 2))
    assert "Starting attempt 1 of 2" in first and "Marking task as UP_FOR_RETRY" in first
    assert "Starting attempt 2 of 2" in second and "Marking task as SUCCESS" in second


def test_a_failure_without_retries_fails_downstream_and_the_run() -> None:
    store = make_store(make_dag({"a": ["b"], "b": ["c"], "c": []}, scripts={"a": {"outcomes": ["failed"]}}))
    run = trigger(store)
    idle(store)
    assert states(store) == {"a": "failed", "b": "upstream_failed", "c": "upstream_failed"}
    b = tis(store)["b"]
    b, c = tis(store)["b"], tis(store)["c"]
    # one level of upstream_failed per scheduler loop, as `DagRun.update_state` flags them
    assert (b.try_number, b.start_date, b.end_date, b.duration) == (0, at(8), at(8), 0.0)
    assert (c.end_date, run.state, run.end_date) == (at(9), "failed", at(10))


def test_skips_propagate_and_all_done_runs_anyway() -> None:
    store = make_store(make_dag({"a": ["b"], "b": ["c"], "c": []}, rules={"c": "all_done"},
                                scripts={"a": {"outcomes": ["skipped"]}}))
    run = trigger(store)
    idle(store)
    assert states(store) == {"a": "skipped", "b": "skipped", "c": "success"}
    assert run.state == "success"


def test_a_branch_skips_the_unfollowed_path_and_joins_with_none_failed_min_one_success() -> None:
    edges = {"choose": ["left", "right"], "left": ["join"], "right": ["join"], "join": []}
    store = make_store(make_dag(edges, rules={"join": "none_failed_min_one_success"},
                                scripts={"choose": {"branch": ["left"]}}))
    run = trigger(store)
    idle(store)
    assert states(store) == {"choose": "success", "left": "success", "right": "skipped", "join": "success"}
    assert store.state.xcoms[("d", "r1", "choose", -1, "return_value")].value == ["left"]
    assert run.state == "success"


def test_a_leaf_failure_fails_the_run_even_when_others_succeed() -> None:
    store = make_store(make_dag({"a": ["b", "cleanup"], "b": [], "cleanup": []}, rules={"cleanup": "all_done"},
                                scripts={"b": {"outcomes": ["failed"]}}))
    run = trigger(store)
    idle(store)
    assert states(store) == {"a": "success", "b": "failed", "cleanup": "success"}
    assert run.state == "failed"


@pytest.mark.parametrize(("rule", "ups", "expected"), [
    ("all_success", ["success", "running"], "wait"),
    ("all_success", ["success", "success"], "run"),
    ("all_success", ["success", "skipped"], "skipped"),
    ("all_success", ["failed", None], "upstream_failed"),
    ("all_failed", ["failed", "upstream_failed"], "run"),
    ("all_failed", ["failed", "success"], "skipped"),
    ("all_done", ["failed", "skipped"], "run"),
    ("all_done", ["failed", "running"], "wait"),
    ("one_success", ["success", "running"], "run"),
    ("one_success", ["failed", "failed"], "upstream_failed"),
    ("one_success", ["skipped", "skipped"], "skipped"),
    ("one_failed", ["failed", "running"], "run"),
    ("one_failed", ["success", "success"], "skipped"),
    ("one_done", ["success", "running"], "run"),
    ("one_done", ["skipped", "skipped"], "skipped"),
    ("none_failed", ["success", "skipped"], "run"),
    ("none_failed", ["upstream_failed", "success"], "upstream_failed"),
    ("none_failed_min_one_success", ["skipped", "skipped"], "skipped"),
    ("none_failed_min_one_success", ["skipped", "success"], "run"),
    ("none_skipped", ["success", "failed"], "run"),
    ("none_skipped", ["skipped", None], "skipped"),
    ("always", [None, "running"], "run"),
])
def test_trigger_rules(rule: str, ups: list[str | None], expected: str) -> None:
    assert decide(rule, Upstream.of(ups)) == expected


# --- scripts: XComs and logs ---------------------------------------------------------------------------

def test_a_finished_try_pushes_its_xcoms_and_writes_its_log() -> None:
    script = {"return_value": {"rows": 3}, "xcoms": {"path": "s3://x"}, "log": ["Loaded 3 rows"], "duration": 2}
    store = make_store(make_dag({"a": []}, scripts={"a": script}))
    trigger(store)
    idle(store)
    entries = {key[4]: entry for key, entry in store.state.xcoms.items()}
    assert entries["return_value"].value == {"rows": 3} and entries["path"].value == "s3://x"
    assert entries["path"].timestamp == at(4)
    log = store.state.logs[("d", "r1", "a", -1, 1)].content
    assert log == EXPECTED_LOG.replace(" SPACE", " ").replace("RULE", "-" * 80)


# The lines of a real 2.5.3 worker's file task handler log (example_bash_operator's runme_0, read
# from the reference server), for this run; what a BashOperator printed stands where "Loaded 3 rows" is.
EXPECTED_LOG = """\
[2024-06-10T12:00:02.000+0000] {taskinstance.py:1090} INFO - Dependencies all met for dep_context=non-requeueable deps \
ti=<TaskInstance: d.a r1 [queued]>
[2024-06-10T12:00:02.000+0000] {taskinstance.py:1090} INFO - Dependencies all met for dep_context=requeueable deps \
ti=<TaskInstance: d.a r1 [queued]>
[2024-06-10T12:00:02.000+0000] {taskinstance.py:1288} INFO - SPACE
RULE
[2024-06-10T12:00:02.000+0000] {taskinstance.py:1289} INFO - Starting attempt 1 of 1
[2024-06-10T12:00:02.000+0000] {taskinstance.py:1290} INFO - SPACE
RULE
[2024-06-10T12:00:02.000+0000] {taskinstance.py:1309} INFO - Executing <Task(BaseOperator): a> on \
2024-06-10 12:00:00+00:00
[2024-06-10T12:00:02.000+0000] {standard_task_runner.py:55} INFO - Started process 30098 \
to run task
[2024-06-10T12:00:02.000+0000] {standard_task_runner.py:82} INFO - Running: ['airflow', 'tasks', 'run', 'd', 'a', \
'r1', '--job-id', '9', '--raw', '--subdir', 'DAGS_FOLDER/d.py', '--cfg-path', '/tmp/tmp00000009']
[2024-06-10T12:00:02.000+0000] {standard_task_runner.py:83} INFO - Job 9: Subtask a
[2024-06-10T12:00:02.000+0000] {task_command.py:389} INFO - Running <TaskInstance: d.a r1 [running]> \
on host airflow-worker-1
[2024-06-10T12:00:02.000+0000] {taskinstance.py:1516} INFO - Exporting the following env vars:
AIRFLOW_CTX_DAG_OWNER=airflow
AIRFLOW_CTX_DAG_ID=d
AIRFLOW_CTX_TASK_ID=a
AIRFLOW_CTX_EXECUTION_DATE=2024-06-10T12:00:00+00:00
AIRFLOW_CTX_TRY_NUMBER=1
AIRFLOW_CTX_DAG_RUN_ID=r1
[2024-06-10T12:00:04.000+0000] {logging_mixin.py:137} INFO - Loaded 3 rows
[2024-06-10T12:00:04.000+0000] {taskinstance.py:1327} INFO - Marking task as SUCCESS. dag_id=d, task_id=a, \
execution_date=20240610T120000, start_date=20240610T120002, end_date=20240610T120004
[2024-06-10T12:00:04.000+0000] {local_task_job.py:212} INFO - Task exited with return code 0
[2024-06-10T12:00:04.000+0000] {taskinstance.py:2596} INFO - 0 downstream tasks scheduled \
from follow-on schedule check
"""


def test_run_time_scripts_override_fixture_scripts_key_by_key() -> None:
    store = make_store(make_dag({"a": []}, scripts={"a": {"duration": 30, "outcomes": ["failed"]}}))
    simulation = Simulation()
    simulation.book.add("d", "a", None, {"outcomes": ["success"]})
    trigger(store)
    idle(store, simulation)
    a = tis(store)["a"]
    assert (a.state, a.duration) == ("success", 30.0)


# --- clearing and marking ------------------------------------------------------------------------------

def test_a_cleared_task_runs_again_with_the_next_try_number() -> None:
    store = make_store(make_dag({"a": []}))
    run = trigger(store)
    simulation = idle(store)
    with store.lock:
        clear_run(store.state, run, dry_run=False, now=store.clock.now())
    cleared_at = store.clock.now()
    simulation.observe(store.state, cleared_at)
    simulation.run_until_idle(store)
    a = tis(store)["a"]
    assert (run.state, run.start_date, a.try_number, a.state) == ("success", cleared_at + timedelta(seconds=1), 2,
                                                                 "success")
    assert ("d", "r1", "a", -1, 2) in store.state.logs


def test_a_run_marked_failed_stops_scheduling_its_tasks() -> None:
    store = make_store(make_dag({"a": ["b"], "b": []}))
    run = trigger(store)
    simulation = Simulation()
    simulation.observe(store.state, T0)
    catch_up(store, simulation, 3)
    with store.lock:
        update_state(store.state, run, "failed", at(3))
    simulation.observe(store.state, at(3))
    simulation.run_until_idle(store)
    assert (run.state, states(store)) == ("failed", {"a": "failed", "b": None})


def test_a_cleared_running_try_restarts_and_retries() -> None:
    store = make_store(make_dag({"a": []}, scripts={"a": {"duration": 100}}))
    run = trigger(store)
    simulation = Simulation()
    simulation.observe(store.state, T0)
    catch_up(store, simulation, 10)
    with store.lock:
        clear_run(store.state, run, dry_run=False, now=at(10))
    assert tis(store)["a"].state == "restarting"
    simulation.observe(store.state, at(10))
    simulation.run_until_idle(store)
    a = tis(store)["a"]
    assert (a.state, a.try_number, run.state) == ("success", 2, "success")


# --- invariants over random DAGs -----------------------------------------------------------------------

@st.composite
def dag_shapes(draw: st.DrawFn) -> tuple[Dag, int]:
    size = draw(st.integers(1, 7))
    names = [f"t{i}" for i in range(size)]
    edges = {name: sorted({names[j] for j in draw(st.sets(st.integers(i + 1, size - 1), max_size=3))})
             if i + 1 < size else [] for i, name in enumerate(names)}
    rules = {name: draw(st.sampled_from(TRIGGER_RULES)) for name in names}
    outcomes = st.lists(st.sampled_from(["success", "failed", "skipped"]), min_size=1, max_size=3)
    scripts = {name: {"outcomes": draw(outcomes), "duration": draw(st.integers(0, 20))} for name in names}
    retries = {name: draw(st.integers(0, 2)) for name in names}
    dag = make_dag(edges, rules=rules, scripts=scripts, retries=retries,
                   max_active_tasks=draw(st.integers(1, 4)), max_active_runs=draw(st.integers(1, 2)))
    return dag, draw(st.integers(1, 3))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shape=dag_shapes(), slots=st.integers(1, 3), runs=st.integers(1, 3))
def test_every_run_of_a_random_dag_ends_in_a_final_state(shape: tuple[Dag, int], slots: int, runs: int) -> None:
    dag, _ = shape
    store = make_store(dag, slots=slots)
    for n in range(runs):
        trigger(store, run_id=f"r{n}", when=at(-n))
    simulation = Simulation()
    simulation.observe(store.state, T0)
    seen_tries: dict[tuple[str, str], int] = {}
    while True:  # one instant at a time, checking the invariants at each
        with store.lock:
            upcoming = simulation.scheduler.next_due(store.state, store.clock.now())
        if upcoming is None:
            break
        store.clock.set(upcoming)
        simulation.catch_up(store.state, upcoming)
        check_invariants(store, dag, slots, seen_tries)
    for run in store.state.dag_runs.values():
        assert run.state in ("success", "failed")
        assert run.start_date is not None and run.end_date is not None and run.start_date <= run.end_date
        assert all(ti.state in ("success", "failed", "skipped", "upstream_failed")
                   for ti in store.state.task_instances.of_run(dag.dag_id, run.dag_run_id).values())


def check_invariants(store: Store, dag: Dag, slots: int, seen_tries: dict[tuple[str, str], int]) -> None:
    rows = list(store.state.task_instances.values())
    executing = [ti for ti in rows if ti.state in ("running", "queued")]
    assert len(executing) <= slots  # the pool is never over-filled
    assert len(executing) <= dag.max_active_tasks
    assert sum(1 for run in store.state.dag_runs.values() if run.state == "running") <= dag.max_active_runs
    by_key = {(ti.dag_run_id, ti.task_id): ti for ti in rows}
    for ti in rows:
        key = (ti.dag_run_id, ti.task_id)
        assert ti.try_number >= seen_tries.get(key, 0)  # try numbers only grow
        seen_tries[key] = ti.try_number
        if ti.start_date is None or ti.try_number == 0:
            continue
        for parent, task in dag.tasks.items():  # no try starts before its upstream is done
            if ti.task_id in task.downstream_task_ids and dag.tasks[ti.task_id].wire["trigger_rule"] in (
                    "all_success", "all_failed", "all_done", "none_failed", "none_skipped"):
                upstream = by_key[(ti.dag_run_id, parent)]
                assert upstream.end_date is not None and upstream.end_date <= ti.start_date


# --- the control API and the live server ---------------------------------------------------------------

def test_the_control_api_scripts_a_task_and_runs_until_idle() -> None:
    client = TestClient(build_app(simulation="virtual"))
    client.auth = ("admin", "admin")
    assert client.put("/_mockflow/simulation", json={"mode": "virtual"}).json()["mode"] == "virtual"
    start = parse_datetime(client.put("/_mockflow/clock", json={"now": "2024-06-10T12:00:00+00:00"}).json()["now"])
    script = {"dag_id": "ingest_orders", "task_id": "extract_orders",
              "script": {"outcomes": ["failed", "success"], "xcoms": {"row_count": 12}, "duration": 20}}
    assert client.post("/_mockflow/simulation/scripts", json=script).status_code == 201
    bad = client.post("/_mockflow/simulation/scripts", json={"dag_id": "ingest_orders", "task_id": "nope",
                                                            "script": {}})
    assert bad.status_code == 400
    assert client.post(f"{API}/dags/ingest_orders/dagRuns", json={"dag_run_id": "t1"}).json()["state"] == "queued"
    assert client.post("/_mockflow/simulation/run-until-idle", json={}).json()["moves"] > 0
    run = client.get(f"{API}/dags/ingest_orders/dagRuns/t1").json()
    assert run["state"] == "success"
    extract = client.get(f"{API}/dags/ingest_orders/dagRuns/t1/taskInstances/extract_orders").json()
    assert (extract["state"], extract["try_number"], extract["duration"]) == ("success", 2, 20.0)
    started = parse_datetime(run["start_date"])
    # after the fixtures' own running run of this DAG
    assert started is not None and start is not None and started > start
    entry = client.get(f"{API}/dags/ingest_orders/dagRuns/t1/taskInstances/extract_orders/xcomEntries/row_count")
    assert entry.json()["value"] == "12"
    log = client.get(f"{API}/dags/ingest_orders/dagRuns/t1/taskInstances/extract_orders/logs/1",
                     headers={"Accept": "text/plain"}).text
    assert "Marking task as UP_FOR_RETRY" in log


def test_advancing_the_clock_through_the_control_api_moves_the_runs() -> None:
    client = TestClient(build_app())
    client.auth = ("admin", "admin")
    client.put("/_mockflow/simulation", json={"mode": "virtual"})
    client.post(f"{API}/dags/ingest_customers/dagRuns", json={"dag_run_id": "t1"})
    client.post("/_mockflow/clock/advance", json={"seconds": 3})
    tis_now = client.get(f"{API}/dags/ingest_customers/dagRuns/t1/taskInstances").json()["task_instances"]
    # the two root tasks: noticed at +1 s, queued at once, running at +2 s
    assert sorted(str(ti["state"]) for ti in tis_now) == ["None", "None", "running", "running"]


def test_a_live_server_in_real_time_runs_a_triggered_dag_to_success() -> None:
    app = build_app(simulation="real", simulation_speed=50.0)
    with LiveServer(app) as server, httpx.Client(base_url=server.url, auth=("admin", "admin")) as http:
        run_url = f"{API}/dags/customer_export/dagRuns/live"
        assert http.post(f"{API}/dags/customer_export/dagRuns", json={"dag_run_id": "live"}).json()["state"] == "queued"
        deadline, seen = time.monotonic() + 20, list[str]()
        while (not seen or seen[-1] not in ("success", "failed")) and time.monotonic() < deadline:
            seen.append(http.get(run_url).json()["state"])
            time.sleep(0.02)
        assert "running" in seen and seen[-1] == "success"
        rows = http.get(f"{run_url}/taskInstances").json()["task_instances"]
        assert [(ti["task_id"], ti["state"], ti["try_number"]) for ti in rows] == [
            ("query_segment", "success", 1), ("write_export", "success", 1)]
        log = http.get(f"{run_url}/taskInstances/write_export/logs/1", headers={"Accept": "text/plain"}).text
        assert "Wrote 314 rows to s3://harbor-exports/customers/churn_risk.csv" in log
        entry = http.get(f"{run_url}/taskInstances/query_segment/xcomEntries/return_value").json()
        assert entry["value"] == "{'segment': 'churn_risk', 'rows': 314}"


# --- the default set's scripted DAGs -------------------------------------------------------------------

SCRIPTED = ("ingest_customers", "schema_migration_2024_06", "data_quality_checks", "process_store_files",
            "customer_export", "ingest_orders")


def test_the_default_sets_scripted_dags_run_to_idle_in_virtual_time() -> None:
    client = TestClient(build_app())
    client.auth = ("admin", "admin")
    client.put("/_mockflow/simulation", json={"mode": "virtual"})
    client.put("/_mockflow/clock", json={"now": "2024-06-10T12:00:00+00:00"})
    for dag_id in SCRIPTED:
        assert client.post(f"{API}/dags/{dag_id}/dagRuns", json={"dag_run_id": "t1"}).status_code == 200
    client.post("/_mockflow/simulation/run-until-idle", json={})

    def outcome(dag_id: str) -> tuple[str, dict[str, tuple[str, int]]]:
        run = client.get(f"{API}/dags/{dag_id}/dagRuns/t1").json()
        rows = client.get(f"{API}/dags/{dag_id}/dagRuns/t1/taskInstances").json()["task_instances"]
        return run["state"], {f"{ti['task_id']}{'' if ti['map_index'] < 0 else ti['map_index']}":
                              (ti["state"], ti["try_number"]) for ti in rows}

    assert outcome("ingest_customers")[1]["fetch_customers"] == ("success", 2)  # failed once, retried
    assert outcome("ingest_customers")[0] == "success"
    assert outcome("schema_migration_2024_06") == ("failed", {
        "start": ("success", 0), "migrate_tables": ("success", 1), "reapply_grants": ("failed", 1)})
    branched = outcome("data_quality_checks")
    assert branched[0] == "success" and branched[1]["full_reconciliation"] == ("skipped", 0)
    assert branched[1]["report"] == ("success", 0)  # an EmptyOperator: marked success, never run
    mapped = outcome("process_store_files")
    assert mapped[0] == "success" and [mapped[1][f"process_file{i}"] for i in range(4)] == [("success", 1)] * 4
    # ingest_orders and ingest_customers produced the datasets build_sales_mart waits for, and the
    # mart's own outlet then triggered refresh_dashboards
    events = client.get(f"{API}/datasets/events", params={"source_run_id": "t1"}).json()["dataset_events"]
    assert {event["source_dag_id"] for event in events} == {"ingest_orders", "ingest_customers"}
    created = [run for event in events for run in event["created_dagruns"]]
    assert created and all(run["dag_id"] == "build_sales_mart" for run in created)
    dashboards = client.get(f"{API}/dags/refresh_dashboards/dagRuns").json()["dag_runs"]
    assert any(run["run_type"] == "dataset_triggered" and run["state"] == "success"
               and run["logical_date"].startswith("2024-06-10") for run in dashboards)


def test_paused_dags_and_the_off_mode_leave_everything_as_it_is() -> None:
    client = TestClient(build_app(simulation="off"))
    client.auth = ("admin", "admin")
    client.post(f"{API}/dags/customer_export/dagRuns", json={"dag_run_id": "t1"})
    client.post("/_mockflow/clock/advance", json={"seconds": 3600})
    assert client.get(f"{API}/dags/customer_export/dagRuns/t1").json()["state"] == "queued"
    client.put("/_mockflow/simulation", json={"mode": "virtual"})
    client.post(f"{API}/dags/db_maintenance/dagRuns", json={"dag_run_id": "t1"})  # a paused DAG
    client.post("/_mockflow/simulation/run-until-idle", json={})
    assert client.get(f"{API}/dags/db_maintenance/dagRuns/t1").json()["state"] == "queued"
    assert client.get(f"{API}/dags/customer_export/dagRuns/t1").json()["state"] == "success"


def test_the_docs_example_runs() -> None:
    text = (Path(__file__).resolve().parents[1] / "docs" / "simulation.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert blocks, "docs/simulation.md lost its example"
    tests = []
    for block in blocks:
        namespace: dict[str, Any] = {}
        exec(compile(block, "docs/simulation.md", "exec"), namespace)
        tests += [value for name, value in namespace.items() if name.startswith("test_") and callable(value)]
    assert len(tests) == len(blocks)
    for test in tests:
        test()


def test_a_mapped_task_of_unknown_length_expands_over_its_upstream_return_value() -> None:
    dag = make_dag({"list": ["each"], "each": ["total"], "total": []},
                   scripts={"list": {"return_value": ["a", "b", "c"]}})
    dag.tasks["each"].is_mapped = True
    store = make_store(dag)
    run = trigger(store)
    assert set(tis(store)) == {"list", "each", "total"}  # one placeholder, length unknown
    idle(store)
    assert states(store) == {"list": "success", "each[0]": "success", "each[1]": "success", "each[2]": "success",
                             "total": "success"}
    assert {tis(store)[f"each[{i}]"].queued_when for i in range(3)} == {at(8)}
    assert run.state == "success"


def test_a_mapped_task_over_an_empty_list_is_skipped() -> None:
    dag = make_dag({"list": ["each"], "each": []}, scripts={"list": {"return_value": []}})
    dag.tasks["each"].is_mapped = True
    store = make_store(dag)
    run = trigger(store)
    idle(store)
    assert (states(store), run.state) == ({"list": "success", "each": "skipped"}, "success")


def test_a_dataset_event_triggers_a_consumer_once_all_its_datasets_have_one() -> None:
    producer = make_dag({"a": []}, dag_id="producer")
    producer.tasks["a"].outlets = ["s3://x"]
    other = make_dag({"b": []}, dag_id="other")
    other.tasks["b"].outlets = ["s3://y"]
    consumer = make_dag({"c": []}, dag_id="consumer", dataset_triggers=["s3://x", "s3://y"])
    store = make_store(producer, other, consumer)
    with store.lock:
        for dag in (producer, other, consumer):
            reflect_dag(store.state, dag, T0)
    trigger(store, "producer")
    idle(store)
    assert list(store.state.dag_runs.of_dag("consumer")) == []  # s3://y has no event yet
    trigger(store, "other", when=store.clock.now())
    idle(store)
    (run,) = store.state.dag_runs.of_dag("consumer")
    assert (run.run_type, run.external_trigger, run.state) == ("dataset_triggered", False, "success")
    assert run.dag_run_id == f"dataset_triggered__{run.logical_date.isoformat()}"
    events = list(store.state.dataset_events.values())
    assert [(e.source_dag_id, e.created_dagruns) for e in events] == [
        ("producer", [("consumer", run.dag_run_id)]), ("other", [("consumer", run.dag_run_id)])]


def test_clearing_and_marking_over_http_interact_with_the_simulation() -> None:
    client = TestClient(build_app())
    client.auth = ("admin", "admin")
    client.put("/_mockflow/simulation", json={"mode": "virtual"})
    client.put("/_mockflow/clock", json={"now": "2024-06-10T12:00:00+00:00"})
    run_url = f"{API}/dags/customer_export/dagRuns/t1"
    client.post(f"{API}/dags/customer_export/dagRuns", json={"dag_run_id": "t1"})
    client.post("/_mockflow/simulation/run-until-idle", json={})
    cleared = client.post(f"{run_url}/clear", json={"dry_run": False}).json()
    assert (cleared["state"], cleared["start_date"]) == ("queued", None)
    client.post("/_mockflow/simulation/run-until-idle", json={})
    rows = client.get(f"{run_url}/taskInstances").json()["task_instances"]
    assert [(ti["state"], ti["try_number"]) for ti in rows] == [("success", 2), ("success", 2)]
    assert client.get(f"{run_url}/taskInstances/write_export/logs/2", headers={"Accept": "text/plain"}
                      ).text.count("Starting attempt 2 of 2") == 1  # clearing gave it a new retry budget
    client.post(f"{API}/dags/customer_export/dagRuns", json={"dag_run_id": "t2"})
    client.post("/_mockflow/clock/advance", json={"seconds": 3})  # query_segment is running
    client.patch(f"{API}/dags/customer_export/dagRuns/t2", json={"state": "failed"})
    client.post("/_mockflow/simulation/run-until-idle", json={})
    rows = client.get(f"{API}/dags/customer_export/dagRuns/t2/taskInstances").json()["task_instances"]
    assert [ti["state"] for ti in rows] == ["failed", None]
    assert client.get(f"{API}/dags/customer_export/dagRuns/t2").json()["state"] == "failed"
