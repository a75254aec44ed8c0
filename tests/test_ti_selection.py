"""Task-instance lists answered from the table's indexes are exactly what filtering the whole table
would give: the same total, rows and order, for any mix of filters, runs and list orders, with ids
in or out of table order, and after rows have moved between index groups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from mockflow.store import ti_selection
from mockflow.store.records import DagRun, TaskInstance
from mockflow.store.state import State

WHEN = datetime(2024, 1, 1, tzinfo=UTC)
STATES = [None, "success", "failed", "running", "queued"]
POOLS = ["default_pool", "p2", "p3"]
QUEUES = ["default", "q2"]
RUNS = [("d1", "r1"), ("d1", "r2"), ("d2", "r1")]
LOGICAL_DATES = {run: WHEN + timedelta(hours=2 * position) for position, run in enumerate(RUNS)}

hours = st.one_of(st.none(), st.integers(0, 5).map(lambda hour: WHEN + timedelta(hours=hour)))
rows = st.fixed_dictionaries({
    "state": st.sampled_from(STATES), "pool": st.sampled_from(POOLS), "queue": st.sampled_from(QUEUES),
    "priority_weight": st.integers(0, 2), "start_date": hours, "end_date": hours,
    "duration": st.one_of(st.none(), st.sampled_from([0.0, 1.5, 30.0, 900.0])), "run": st.sampled_from(RUNS)})
bound_hours = st.one_of(st.none(), st.integers(-1, 6).map(lambda hour: (WHEN + timedelta(hours=hour)).isoformat()))
filters = st.fixed_dictionaries({}, optional={
    "state": st.lists(st.sampled_from(["none", *[s for s in STATES if s]]), max_size=3),
    "pool": st.lists(st.sampled_from(POOLS), max_size=2),
    "queue": st.lists(st.sampled_from(QUEUES), max_size=2),
    "start_date_gte": bound_hours, "start_date_lte": bound_hours,
    "end_date_gte": bound_hours, "end_date_lte": bound_hours,
    "duration_gte": st.one_of(st.none(), st.sampled_from([0, 1.5, 100])),
    "duration_lte": st.one_of(st.none(), st.sampled_from([0, 30, 1000])),
    "execution_date_gte": bound_hours, "execution_date_lte": bound_hours,
})


def _matches(ti: TaskInstance, asked: dict[str, Any]) -> bool:
    """The filters as the API documents them, one row at a time (NULL satisfies no bound)."""
    if asked.get("state") and ti.state not in {None if value == "none" else value for value in asked["state"]}:
        return False
    for name in ("pool", "queue"):
        if asked.get(name) is not None and getattr(ti, name) not in asked[name]:
            return False
    for name in ("start_date", "end_date", "duration", "execution_date"):
        low, high = asked.get(f"{name}_gte"), asked.get(f"{name}_lte")
        low = datetime.fromisoformat(low) if isinstance(low, str) else low
        high = datetime.fromisoformat(high) if isinstance(high, str) else high
        # the execution date is the run's logical date, as the API's join reads it
        value = LOGICAL_DATES.get((ti.dag_id, ti.dag_run_id)) if name == "execution_date" else getattr(ti, name)
        if (low is not None or high is not None) and (
                value is None or (low is not None and value < low) or (high is not None and value > high)):
            return False
    return True


@settings(max_examples=400, deadline=None)
@given(table=st.lists(rows, max_size=40), ids=st.sampled_from(["increasing", "shuffled", "ties"]),
       moves=st.lists(st.tuples(st.integers(0, 39), st.sampled_from(STATES), st.sampled_from(POOLS),
                                st.integers(0, 2), hours), max_size=6),
       asked=filters, runs=st.one_of(st.none(), st.lists(st.sampled_from(RUNS), unique=True)),
       dag_ids_given=st.booleans(), run_given=st.booleans(),
       offset=st.integers(0, 4), limit=st.sampled_from([None, 1, 2, 5, 100]), slack=st.sampled_from([0, 1024]))
def test_an_indexed_list_is_the_filtered_table_in_the_lists_order(
        table: list[dict[str, Any]], ids: str, moves: list[tuple[int, str | None, str, int, datetime | None]],
        asked: dict[str, Any], runs: list[tuple[str, str]] | None, dag_ids_given: bool, run_given: bool,
        offset: int, limit: int | None, slack: int) -> None:
    state = State()
    for run_id, (dag_id, dag_run_id) in enumerate(RUNS, start=1):
        state.dag_runs.insert(DagRun(dag_id=dag_id, dag_run_id=dag_run_id,
                                     logical_date=LOGICAL_DATES[(dag_id, dag_run_id)], id=run_id))
    tis = state.task_instances
    for index, row in enumerate(table):
        (dag_id, run_id), fields = row["run"], {name: value for name, value in row.items() if name != "run"}
        row_id = {"increasing": index + 1, "shuffled": (index * 7) % 11, "ties": 3}[ids]
        tis.insert(TaskInstance(dag_id=dag_id, dag_run_id=run_id, task_id=f"t{index}", id=row_id, **fields))
    for position, new_state, pool, weight, started in moves:  # rows leave their groups' ends
        if position < len(tis):
            ti = list(tis.values())[position]
            if new_state in {"success", "failed", None}:
                tis.set_state(ti, new_state)
            tis.update(ti, pool=pool, priority_weight=weight, start_date=started)
    chosen_runs = None if runs is None else [DagRun(dag_id=dag_id, dag_run_id=run_id, logical_date=WHEN)
                                            for dag_id, run_id in runs]
    order = ti_selection.scan_order(dag_ids_given and runs is not None, run_given, asked)
    expected = [ti for ti in tis.values() if _matches(ti, asked)
                and (runs is None or (ti.dag_id, ti.dag_run_id) in runs)]
    if order is not None:
        expected.sort(key=order)  # stable: ties stay in table order
    end = None if limit is None else offset + limit
    with mock.patch.object(ti_selection, "_SCAN_SLACK", slack):  # 0: matches bunched late run out the read
        assert ti_selection.select(state, chosen_runs, asked, offset, limit, order) == (len(expected),
                                                                                     expected[offset:end])


def _interleaved_table(size: int) -> State:
    """Rows whose state, pool, queue and duration alternate, so every index group is interleaved
    with the others in table order; all in one run."""
    state = State()
    for index in range(size):
        state.task_instances.insert(TaskInstance(
            dag_id="d1", dag_run_id="r1", task_id=f"t{index:03}", id=index + 1, state=STATES[index % 3],
            pool=POOLS[index % 3], queue=[*QUEUES, "q3"][(index // 2) % 3], duration=float(index % 4),
            start_date=WHEN + timedelta(hours=index % 3)))
    return state


def test_each_index_gives_its_rows_in_table_order_when_other_filters_remain() -> None:
    """With the run's rows outnumbering an index's, the list starts from that index and tests the
    run on its rows: whatever groups they come from, the page is in table order."""
    state = _interleaved_table(30)
    run = [DagRun(dag_id="d1", dag_run_id="r1", logical_date=WHEN)]
    for asked in ({"state": ["none", "success"]}, {"pool": POOLS[:2]}, {"queue": QUEUES}, {"duration_gte": 1},
                  {"start_date_lte": (WHEN + timedelta(hours=1)).isoformat()}):
        expected = [ti for ti in state.task_instances.values() if _matches(ti, asked)]
        assert 0 < len(expected) < 30, asked
        assert ti_selection.select(state, run, asked, 0, None, None) == (len(expected), expected), asked


def test_a_wide_range_whose_matches_come_late_in_the_table_is_still_in_table_order() -> None:
    """Reading the table in order stops after a multiple of the expected length; matches bunched
    at the table's end outlast it, and the page then comes from the sorted index instead."""
    state = State()
    for index in range(200):
        state.task_instances.insert(TaskInstance(dag_id="d1", dag_run_id="r1", task_id=f"t{index:03}", id=index + 1,
                                                 duration=1000.0 + index if index >= 150 else 1.0))
    expected = list(state.task_instances.values())[150:]
    with mock.patch.object(ti_selection, "_SCAN_SLACK", 0):
        assert ti_selection.select(state, None, {"duration_gte": 500}, 2, 3, None) == (50, expected[2:5])
    assert ti_selection.select(state, None, {"duration_gte": 500}, 2, 3, None) == (50, expected[2:5])


def test_runs_whose_rows_interleave_in_the_table_are_merged_not_appended() -> None:
    """Each run's rows are one group; groups that follow one another are read one after another,
    and the others merged, so a run made alongside another does not put its rows out of order."""
    state = State()
    for index, run_id in enumerate(["r1", "r3", "r1", "r2", "r2", "r3"]):
        state.task_instances.insert(TaskInstance(dag_id="d1", dag_run_id=run_id, task_id=f"t{index}", id=index + 1,
                                                 duration=1.0))
    runs = [DagRun(dag_id="d1", dag_run_id=run_id, logical_date=WHEN) for run_id in ("r1", "r2", "r3")]
    every = list(state.task_instances.values())
    assert ti_selection.select(state, runs, {}, 1, 4, None) == (6, every[1:5])
    assert ti_selection.select(state, runs, {"duration_gte": 0}, 0, None, None) == (6, every)
    assert ti_selection.select(state, runs[1:], {}, 0, None, None) == (4, [every[1], *every[3:]])


def test_a_short_page_of_a_narrow_range_is_its_first_rows_in_table_order() -> None:
    """A range holding few of the table's rows is read from its index, in value order; a page far
    shorter than the matches is then picked by id, not by value."""
    state = State()
    for index in range(400):
        duration = float((index * 37) % 400)  # values in no relation to the table's order
        state.task_instances.insert(TaskInstance(dag_id="d1", dag_run_id="r1", task_id=f"t{index:03}",
                                                 id=index + 1, duration=duration))
    expected = [ti for ti in state.task_instances.values() if ti.duration is not None and ti.duration <= 20]
    assert len(expected) == 21
    for offset, limit in ((0, 2), (1, 1), (0, None), (5, 10)):
        end = None if limit is None else offset + limit
        assert ti_selection.select(state, None, {"duration_lte": 20}, offset, limit, None) == (21, expected[offset:end])
