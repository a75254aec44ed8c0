"""Scheduled runs and Airflow 2.5's timetables (docs/simulation.md, "Scheduled runs").

The timetable cases were produced by Airflow 2.5.3's own `CronDataIntervalTimetable` (pendulum 2.1,
croniter 7) for the given current time: the first run with catchup off, the run after a given
interval with catchup on, and a manual run's interval. DST days are among them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from mockflow.simulation import Simulation
from mockflow.store import Store
from mockflow.store.records import DagRun
from mockflow.store.timetables import Cron, CronTimetable, DataInterval, Restriction, timetable_of, zone
from tests.conftest import build_app
from tests.test_simulation import API, T0, at, make_dag, make_store

DAILY = {"__type": "CronExpression", "value": "0 0 * * *"}
START = datetime(2024, 1, 1, tzinfo=UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# (expression, time zone, now (UTC), first run with catchup off (logical date, run after),
#  after [start, end] with catchup on (start, end, logical date, run after), manual interval at now)
AIRFLOW_2_5_3 = [
    ('0 0 * * *', 'Australia/Sydney', '2024-04-07T15:30:00', ('2024-04-06T13:00:00+00:00', '2024-04-07T14:00:00+00:00'), ('2024-04-06T13:00:00+00:00', '2024-04-07T14:00:00+00:00', '2024-04-07T14:00:00+00:00', '2024-04-08T14:00:00+00:00'), ('2024-04-06T13:00:00+00:00', '2024-04-07T14:00:00+00:00')),  # noqa: E501
    ('30 2 * * *', 'Europe/Amsterdam', '2024-03-31T00:30:00', ('2024-03-29T01:30:00+00:00', '2024-03-30T01:30:00+00:00'), ('2024-03-29T01:30:00+00:00', '2024-03-30T01:30:00+00:00', '2024-03-30T01:30:00+00:00', '2024-03-31T01:30:00+00:00'), ('2024-03-29T01:30:00+00:00', '2024-03-30T01:30:00+00:00')),  # noqa: E501
    ('30 2 * * *', 'Europe/Amsterdam', '2024-10-27T00:30:00', ('2024-10-25T00:30:00+00:00', '2024-10-26T00:30:00+00:00'), ('2024-10-25T00:30:00+00:00', '2024-10-26T00:30:00+00:00', '2024-10-26T00:30:00+00:00', '2024-10-27T01:30:00+00:00'), ('2024-10-25T00:30:00+00:00', '2024-10-26T00:30:00+00:00')),  # noqa: E501
    ('0 * * * *', 'Europe/Amsterdam', '2024-10-27T01:30:00', ('2024-10-27T00:00:00+00:00', '2024-10-27T01:00:00+00:00'), ('2024-10-27T00:00:00+00:00', '2024-10-27T01:00:00+00:00', '2024-10-27T01:00:00+00:00', '2024-10-27T02:00:00+00:00'), ('2024-10-27T00:00:00+00:00', '2024-10-27T01:00:00+00:00')),  # noqa: E501
    ('0 * * * *', 'America/New_York', '2024-11-03T06:30:00', ('2024-11-03T05:00:00+00:00', '2024-11-03T06:00:00+00:00'), ('2024-11-03T05:00:00+00:00', '2024-11-03T06:00:00+00:00', '2024-11-03T06:00:00+00:00', '2024-11-03T07:00:00+00:00'), ('2024-11-03T05:00:00+00:00', '2024-11-03T06:00:00+00:00')),  # noqa: E501
    ('*/15 * * * *', 'Europe/Amsterdam', '2024-03-31T01:00:00', ('2024-03-31T00:45:00+00:00', '2024-03-31T01:00:00+00:00'), ('2024-03-31T00:30:00+00:00', '2024-03-31T00:45:00+00:00', '2024-03-31T00:45:00+00:00', '2024-03-31T01:00:00+00:00'), ('2024-03-31T00:45:00+00:00', '2024-03-31T01:00:00+00:00')),  # noqa: E501
    ('0 4 * * 1', 'Asia/Kolkata', '2024-06-10T12:00:00', ('2024-06-02T22:30:00+00:00', '2024-06-09T22:30:00+00:00'), ('2024-06-02T22:30:00+00:00', '2024-06-09T22:30:00+00:00', '2024-06-09T22:30:00+00:00', '2024-06-16T22:30:00+00:00'), ('2024-06-02T22:30:00+00:00', '2024-06-09T22:30:00+00:00')),  # noqa: E501
    ('0 0,12 * * 1', 'Europe/Amsterdam', '2024-03-31T00:30:00', ('2024-03-24T23:00:00+00:00', '2024-03-25T11:00:00+00:00'), ('2024-03-24T23:00:00+00:00', '2024-03-25T11:00:00+00:00', '2024-03-25T11:00:00+00:00', '2024-03-31T23:00:00+00:00'), ('2024-03-24T23:00:00+00:00', '2024-03-25T11:00:00+00:00')),  # noqa: E501
    ('0 3 1 * *', 'America/New_York', '2024-11-03T06:30:00', ('2024-10-01T07:00:00+00:00', '2024-11-01T07:00:00+00:00'), ('2024-10-01T07:00:00+00:00', '2024-11-01T07:00:00+00:00', '2024-11-01T07:00:00+00:00', '2024-12-01T08:00:00+00:00'), ('2024-10-01T07:00:00+00:00', '2024-11-01T07:00:00+00:00')),  # noqa: E501
    ('15 1-4 * * *', 'America/New_York', '2024-03-10T07:00:00', ('2024-03-09T09:15:00+00:00', '2024-03-10T06:15:00+00:00'), ('2024-03-09T09:15:00+00:00', '2024-03-10T06:15:00+00:00', '2024-03-10T06:15:00+00:00', '2024-03-10T07:15:00+00:00'), ('2024-03-09T09:15:00+00:00', '2024-03-10T06:15:00+00:00')),  # noqa: E501
]


@pytest.mark.parametrize(("expression", "tz", "now", "first", "after", "manual"), AIRFLOW_2_5_3)
def test_cron_timetable_matches_airflow(expression: str, tz: str, now: str, first: tuple[str, str],
                                         after: tuple[str, str, str, str], manual: tuple[str, str]) -> None:
    table = CronTimetable(Cron.parse(expression, zone(f"Timezone('{tz}')")))
    moment = datetime.fromisoformat(now).replace(tzinfo=UTC)
    info = table.next_run(None, Restriction(START, None, catchup=False), moment)
    assert info is not None and (info.logical_date, info.run_after) == (utc(first[0]), utc(first[1]))
    info = table.next_run(DataInterval(utc(after[0]), utc(after[1])), Restriction(START, None, catchup=True), moment)
    assert info is not None and (info.logical_date, info.run_after) == (utc(after[2]), utc(after[3]))
    interval = table.manual_interval(moment)
    assert (interval.start, interval.end) == (utc(manual[0]), utc(manual[1]))


def test_timetables_of_each_schedule_kind() -> None:
    assert not timetable_of(None).schedules
    assert not timetable_of({"__type": "CronExpression", "value": "Dataset"}).schedules
    once = timetable_of({"__type": "CronExpression", "value": "@once"})
    info = once.next_run(None, Restriction(START, None, catchup=False), T0)
    assert info is not None and (info.logical_date, info.run_after) == (START, START)
    assert once.next_run(DataInterval(START, START), Restriction(START, None, catchup=False), T0) is None
    monthly = timetable_of({"__type": "RelativeDelta", "months": 1})
    after = monthly.next_run(DataInterval(START, datetime(2024, 1, 31, tzinfo=UTC)), Restriction(START, None, True), T0)
    assert after is not None and after.run_after == datetime(2024, 2, 29, tzinfo=UTC)  # relativedelta clips the day
    assert not timetable_of({"__type": "TimeDelta", "days": 0, "seconds": 0, "microseconds": 0}).schedules
    assert zone("Timezone('+05:30')").utcoffset(None) == timedelta(hours=5, minutes=30)
    assert zone("Timezone('Nowhere/Atlantis')") == UTC


# --- scheduled runs in the simulation --------------------------------------------------------------------------

def scheduled(store: Store) -> list[DagRun]:
    return sorted((r for r in store.state.dag_runs.of_dag("d") if r.run_type == "scheduled"),
                  key=lambda r: r.logical_date)


def next_fields(store: Store) -> dict[str, Any]:
    return {k: v for k, v in store.state.dags["d"].wire.items() if k.startswith("next_dagrun")}


def daily_store(**fields: Any) -> Store:
    wire = {"catchup": fields.pop("catchup", False), "timezone": fields.pop("timezone", "Timezone('UTC')")}
    dag = make_dag({"a": ["b"], "b": []}, schedule_interval=fields.pop("schedule", DAILY),
                   start_date=fields.pop("start_date", START),
                   wire=wire, **fields)
    return make_store(dag)


def test_unpausing_a_daily_dag_with_catchup_off_creates_the_latest_interval_at_once() -> None:
    store, simulation = daily_store(), Simulation()
    simulation.catch_up(store.state, T0)  # the first look notices the DAG; its loop comes 1 s later
    assert scheduled(store) == []
    store.clock.set(at(1))
    simulation.catch_up(store.state, at(1))
    [run] = scheduled(store)
    assert (run.dag_run_id, run.state, run.start_date, run.external_trigger) == (
        "scheduled__2024-06-09T00:00:00+00:00", "running", at(1), False)
    assert (run.data_interval_start, run.data_interval_end) == (datetime(2024, 6, 9, tzinfo=UTC),
                                                                datetime(2024, 6, 10, tzinfo=UTC))
    assert sorted(ti.task_id for ti in store.state.task_instances.of_run("d", run.dag_run_id).values()) == ["a", "b"]
    assert next_fields(store) == {
        "next_dagrun": "2024-06-10T00:00:00+00:00", "next_dagrun_data_interval_start": "2024-06-10T00:00:00+00:00",
        "next_dagrun_data_interval_end": "2024-06-11T00:00:00+00:00",
        "next_dagrun_create_after": "2024-06-11T00:00:00+00:00"}
    midnight = datetime(2024, 6, 11, tzinfo=UTC)
    store.clock.set(midnight)
    simulation.catch_up(store.state, midnight)  # the clock passed next_dagrun_create_after
    latest = scheduled(store)[-1]
    assert (latest.dag_run_id, latest.start_date) == ("scheduled__2024-06-10T00:00:00+00:00", midnight)
    assert next_fields(store)["next_dagrun_create_after"] == "2024-06-12T00:00:00+00:00"


def test_catchup_creates_every_missed_interval_within_max_active_runs() -> None:
    store = daily_store(catchup=True, max_active_runs=2, start_date=datetime(2024, 6, 6, tzinfo=UTC))
    simulation = Simulation()
    simulation.catch_up(store.state, T0)
    store.clock.set(at(2))
    simulation.catch_up(store.state, at(2))
    runs = scheduled(store)  # one run per DAG per scheduler loop, until two are active
    assert [(r.logical_date.day, r.start_date) for r in runs] == [(6, at(1)), (7, at(2))]
    assert next_fields(store)["next_dagrun_create_after"] is None  # at max_active_runs
    assert next_fields(store)["next_dagrun"] == "2024-06-07T00:00:00+00:00"
    simulation.run_until_idle(store)
    runs = scheduled(store)
    # 6th..9th: the 10th's interval ends after the instant run-until-idle started at
    assert [r.logical_date.day for r in runs] == [6, 7, 8, 9]
    assert all(r.state == "success" for r in runs)
    for later in runs[2:]:  # never more than two active at once
        assert later.start_date is not None
        overlapping = [r for r in runs if r.start_date and r.end_date and r.start_date <= later.start_date < r.end_date]
        assert len(overlapping) <= 2
    assert next_fields(store)["next_dagrun"] == "2024-06-10T00:00:00+00:00"


def test_end_date_and_start_date_bound_the_runs() -> None:
    store = daily_store(catchup=True, start_date=datetime(2024, 6, 7, tzinfo=UTC),
                        end_date=datetime(2024, 6, 8, tzinfo=UTC))
    simulation = Simulation()
    simulation.run_until_idle(store)
    assert [r.logical_date.day for r in scheduled(store)] == [7, 8]
    assert next_fields(store)["next_dagrun"] is None and next_fields(store)["next_dagrun_create_after"] is None


def test_a_time_zone_moves_the_intervals() -> None:
    store = daily_store(schedule={"__type": "CronExpression", "value": "0 2 * * *"},
                        timezone="Timezone('Europe/Amsterdam')")
    Simulation().run_until_idle(store)
    [run] = scheduled(store)  # 02:00 in Amsterdam's summer is midnight UTC
    assert run.dag_run_id == "scheduled__2024-06-09T00:00:00+00:00"


def test_a_timedelta_schedule_with_catchup_off_runs_the_interval_ending_when_it_is_first_seen() -> None:
    store = daily_store(schedule={"__type": "TimeDelta", "days": 1, "seconds": 0, "microseconds": 0})
    simulation = Simulation()
    simulation.run_until_idle(store)
    [run] = scheduled(store)
    assert (run.logical_date, run.data_interval_end, run.start_date) == (T0 - timedelta(days=1), T0, at(1))
    assert next_fields(store)["next_dagrun_create_after"] == (T0 + timedelta(days=1)).isoformat()
    store.clock.set(T0 + timedelta(days=1))
    simulation.catch_up(store.state, T0 + timedelta(days=1))
    assert [r.logical_date for r in scheduled(store)] == [T0 - timedelta(days=1), T0]


def test_once_runs_once_at_the_start_date() -> None:
    store = daily_store(schedule={"__type": "CronExpression", "value": "@once"})
    simulation = Simulation()
    simulation.run_until_idle(store)
    store.clock.advance(timedelta(days=3))
    simulation.run_until_idle(store)
    assert [(r.dag_run_id, r.data_interval_start) for r in scheduled(store)] == [
        ("scheduled__2024-01-01T00:00:00+00:00", START)]


def test_run_until_idle_with_an_hourly_dag_stops_at_the_instant_it_started() -> None:
    store = daily_store(schedule={"__type": "CronExpression", "value": "@hourly"})
    _, instants = Simulation().run_until_idle(store)
    assert instants < 100 and [r.logical_date for r in scheduled(store)] == [T0 - timedelta(hours=1)]
    assert store.clock.now() < T0 + timedelta(hours=1)


def test_paused_dags_and_an_off_simulation_create_nothing() -> None:
    paused = daily_store(is_paused=True)
    Simulation().run_until_idle(paused)
    off = daily_store()
    assert Simulation(mode="off").catch_up(off.state, at(10)) == 0
    assert scheduled(paused) == [] and scheduled(off) == []


def test_a_run_already_at_the_logical_date_is_passed_over() -> None:
    store = daily_store()
    with store.lock:
        store.state.dag_runs.insert(DagRun(dag_id="d", dag_run_id="manual",
                                           logical_date=datetime(2024, 6, 9, tzinfo=UTC), state="success",
                                           id=store.state.next_id("dag_runs")))
    Simulation().run_until_idle(store)
    assert scheduled(store) == []  # the 9th's interval is taken; the 10th's has not ended


def test_a_run_added_behind_its_back_is_still_seen() -> None:
    store = make_store(make_dag({"a": []}))
    simulation = Simulation()
    simulation.catch_up(store.state, T0)  # lists the DAG's (no) unfinished runs
    with store.lock:
        store.state.dag_runs.insert(DagRun(dag_id="d", dag_run_id="late", logical_date=T0,
                                           id=store.state.next_id("dag_runs")))
    store.clock.set(at(2))
    simulation.catch_up(store.state, at(2))  # no `observe`: the table's size told it
    run = store.state.dag_runs[("d", "late")]
    assert (run.start_date, run.state, run.end_date) == (at(1), "success", at(2))  # no task instances: done


def test_unpausing_over_the_api_gives_what_the_real_server_gave() -> None:
    """The reference server, 2026-12-02T00:10:18.68Z: unpausing example_bash_operator (`0 0 * * *`,
    catchup off) made `scheduled__2026-12-01T00:00:00+00:00` ([12-01, 12-02]), running 1.15 s later,
    and moved next_dagrun to 12-02 and next_dagrun_create_after to 12-03. The default set's
    `data_quality_checks` has the same schedule."""
    app = build_app()
    client = TestClient(app)
    client.auth = ("admin", "admin")
    url = f"{API}/dags/data_quality_checks"
    assert client.patch(url, json={"is_paused": True}).status_code == 200
    app.control.put_simulation({"mode": "virtual"})
    app.control.put_clock({"now": "2026-12-02T00:10:18.679000+00:00"})
    assert client.patch(url, json={"is_paused": False}).json()["next_dagrun"] == "2024-06-03T00:00:00+00:00"
    app.control.advance_clock({"seconds": 1})
    run = client.get(f"{url}/dagRuns/scheduled__2026-12-01T00:00:00+00:00").json()
    assert (run["state"], run["start_date"], run["data_interval_start"], run["data_interval_end"]) == (
        "running", "2026-12-02T00:10:19.679000+00:00", "2026-12-01T00:00:00+00:00", "2026-12-02T00:00:00+00:00")
    assert (run["run_type"], run["external_trigger"], run["execution_date"]) == (
        "scheduled", False, "2026-12-01T00:00:00+00:00")
    dag = client.get(url).json()
    assert {key: dag[key] for key in dag if key.startswith("next_dagrun")} == {
        "next_dagrun": "2026-12-02T00:00:00+00:00", "next_dagrun_create_after": "2026-12-03T00:00:00+00:00",
        "next_dagrun_data_interval_start": "2026-12-02T00:00:00+00:00",
        "next_dagrun_data_interval_end": "2026-12-03T00:00:00+00:00"}


def test_a_real_time_catch_up_holds_a_request_only_for_its_budget_then_carries_on() -> None:
    # Months of daily catch-up runs at 60x: a request waits at most the budget, the simulation
    # lags behind the clock and the next catch-up goes on from where it stopped.
    store, simulation = daily_store(catchup=True), Simulation("real", speed=60)
    simulation.catch_up(store.state, T0)
    later = T0 + timedelta(hours=2)
    simulation.catch_up(store.state, later, budget=0.0)  # stops after one instant
    lagging = simulation.cursor
    assert lagging is not None and T0 <= lagging < later
    simulation.catch_up(store.state, later, budget=0.0)
    assert simulation.cursor is not None and lagging < simulation.cursor < later
    simulation.catch_up(store.state, later, budget=None)  # no budget: all the way
    assert simulation.cursor == later and len(scheduled(store)) > 100


def test_virtual_time_ignores_the_budget() -> None:
    store, simulation = daily_store(catchup=True), Simulation("virtual")
    simulation.catch_up(store.state, T0)
    later = T0 + timedelta(minutes=10)
    simulation.catch_up(store.state, later, budget=0.0)
    assert simulation.cursor == later
