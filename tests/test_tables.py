"""The run and task-instance tables: every index answers what a full scan of the table would, in
the table's order, through inserts, deletes, replacements and state changes, ties included."""

from __future__ import annotations

import pickle
import random
from datetime import UTC, datetime, timedelta

import pytest

from mockflow.store.dag_runs import page_runs
from mockflow.store.records import DagRun, TaskInstance
from mockflow.store.restored import differences, index_problems, ti_index_problems
from mockflow.store.state import State
from mockflow.store.states import RUN_STATES, TI_MANUAL, TI_STATES, run_can_move
from mockflow.store.tables import RUN_DATES, RunTable, TaskInstanceTable

WHEN = datetime(2024, 1, 1, tzinfo=UTC)
DAGS = ("a", "b", "c")
RUN_IDS = ("r1", "r2", "r3")
TASKS = ("t1", "t2", "t3")
POOLS = ("default_pool", "p1", "p2")
QUEUES = ("default", "q2")


def _run(dag_id: str, run_id: str, row_id: int) -> DagRun:
    # A few logical dates, so that runs tie on them; a start date for some.
    return DagRun(dag_id=dag_id, dag_run_id=run_id, logical_date=_hour(row_id % 4), id=row_id,
                  start_date=_hour(row_id % 3) if row_id % 2 else None)


def _hour(hours: int) -> datetime:
    return WHEN + timedelta(hours=hours)


def _ti(dag_id: str, run_id: str, task_id: str, state: str | None, row_id: int, map_index: int = -1) -> TaskInstance:
    # Pools, slots, weights, queues and dates vary with the id, so each index sees groups and ties.
    return TaskInstance(dag_id=dag_id, dag_run_id=run_id, task_id=task_id, map_index=map_index, state=state,
                        id=row_id, pool=POOLS[row_id % 3], pool_slots=row_id % 4, priority_weight=row_id % 2,
                        queue=QUEUES[row_id % 2], start_date=_hour(row_id % 3) if row_id % 5 else None,
                        end_date=_hour(row_id % 4) if row_id % 3 else None,
                        duration=float(row_id % 3) if row_id % 4 else None)


def _ti_field_change(rng: random.Random) -> dict[str, object]:
    """One of the field updates the API and the simulation make, moving a row in some index."""
    return rng.choice([
        {"pool": rng.choice(POOLS), "pool_slots": rng.randint(0, 3)},
        {"queue": rng.choice(QUEUES)},
        {"priority_weight": rng.randint(0, 2)},
        {"start_date": rng.choice([None, _hour(rng.randint(0, 3))]), "end_date": None, "duration": None},
        {"end_date": _hour(rng.randint(0, 3)), "duration": rng.choice([0.0, 1.0, 2.5])},
        {"note": "kept out of every index"},
    ])


def assert_run_indexes(table: RunTable) -> None:
    scan = list(table.values())
    assert set(table.by_dag) == {run.dag_id for run in scan}
    for value in (*RUN_STATES, None):
        assert table.count_in_state(value) == sum(run.state == value for run in scan), value
    assert 0 not in table.state_counts.values()
    for dag_id in DAGS:
        assert list(table.of_dag(dag_id)) == [run for run in scan if run.dag_id == dag_id]
    for chosen in (None, ["a"], ["a", "b"], ["c", "a"], list(DAGS), ["missing"], []):
        expected = scan if chosen is None else [run for run in scan if run.dag_id in chosen]
        assert list(table.of_dags(chosen)) == expected, chosen
    for name in RUN_DATES:
        for low, high in ((None, None), (_hour(1), None), (None, _hour(1)), (_hour(1), _hour(2)), (_hour(2), _hour(2)),
                          (_hour(3), _hour(0))):
            dated = [run for run in scan if (value := getattr(run, name)) is not None
                     and (low is None or value >= low) and (high is None or value <= high)]
            assert table.dated(name, low, high) == dated, (name, low, high)


def assert_ti_indexes(table: TaskInstanceTable) -> None:
    scan = list(table.values())
    assert set(table.by_run) == {(ti.dag_id, ti.dag_run_id) for ti in scan}
    for dag_id in DAGS:
        for run_id in RUN_IDS:
            expected = [ti for ti in scan if (ti.dag_id, ti.dag_run_id) == (dag_id, run_id)]
            assert list(table.of_run(dag_id, run_id).values()) == expected
    assert set(table.states()) == {ti.state for ti in scan}
    for value in TI_STATES:
        expected = [ti for ti in scan if ti.state == value]
        assert list(table.in_state(value)) == expected, value
        assert table.count_in_state(value) == len(expected)
        for pool in POOLS:
            in_pool = sum(ti.pool_slots for ti in expected if ti.pool == pool)
            assert table.pool_slots(pool, value) == in_pool, (pool, value)
    assert all(all(by_state.values()) for by_state in table.slots_by_pool.values()), "no zero sums are kept"
    assert ti_index_problems(table) == []


# --- runs -------------------------------------------------------------------------------------------

def test_run_insert_and_delete_keep_the_per_dag_index() -> None:
    table = RunTable()
    for row_id, (dag_id, run_id) in enumerate([("a", "r1"), ("b", "r1"), ("a", "r2"), ("c", "r1")], start=1):
        table.insert(_run(dag_id, run_id, row_id))
    assert_run_indexes(table)
    table.delete(table[("a", "r1")])
    assert_run_indexes(table)
    table.delete(table[("a", "r2")])
    assert "a" not in table.by_dag
    assert_run_indexes(table)
    table.delete_dags(["b", "missing"])
    assert list(table) == [("c", "r1")]
    assert_run_indexes(table)


@pytest.mark.parametrize("ids", [[0, 0, 0, 0, 0], [5, 4, 3, 2, 1], [1, 3, 3, 2, 7]],
                         ids=["ties", "descending", "mixed"])
def test_runs_of_several_dags_come_in_table_order_whatever_the_ids(ids: list[int]) -> None:
    table = RunTable()
    for row_id, (dag_id, run_id) in zip(ids, [("a", "r1"), ("b", "r1"), ("a", "r2"), ("c", "r1"), ("b", "r2")],
                                        strict=True):
        table.insert(_run(dag_id, run_id, row_id))
    assert_run_indexes(table)


def test_run_state_changes_stamp_the_end_date_and_refuse_undeclared_moves() -> None:
    table = RunTable()
    run = _run("a", "r1", 1)
    table.insert(run)
    table.set_state(run, "running", WHEN)
    assert run.end_date is None
    table.set_state(run, "success", WHEN)
    assert run.state == "success" and run.end_date == WHEN
    with pytest.raises(ValueError, match="cannot move"):
        table.set_state(run, "running", WHEN)  # only a queued run starts
    table.set_state(run, "queued", WHEN)  # clearing queues a finished run again
    assert run.end_date is None
    with pytest.raises(ValueError, match="not changed"):
        table.update(run, dag_run_id="other")
    table.update(run, note="hello")
    assert run.note == "hello"
    assert {run.state} <= RUN_STATES


# --- task instances ---------------------------------------------------------------------------------

def test_ti_insert_delete_and_state_change_keep_every_index() -> None:
    table = TaskInstanceTable()
    row_id = 0
    for dag_id in ("a", "b"):
        for run_id in ("r1", "r2"):
            for task_id in TASKS:
                row_id += 1
                table.insert(_ti(dag_id, run_id, task_id, None if row_id % 3 else "success", row_id))
    assert_ti_indexes(table)
    first = table[("a", "r1", "t1", -1)]
    table.set_state(first, "success")  # moves to the end of a bucket it belongs at the front of
    assert_ti_indexes(table)
    table.set_state(table[("b", "r2", "t3", -1)], None)
    assert_ti_indexes(table)
    table.delete(table[("a", "r2", "t2", -1)])
    assert_ti_indexes(table)
    table.delete_where(lambda ti: ti.dag_id == "b")
    assert_ti_indexes(table)
    for ti in list(table.of_run("a", "r1").values()):
        table.delete(ti)
    assert ("a", "r1") not in table.by_run
    assert_ti_indexes(table)


@pytest.mark.parametrize("seed", range(40))
def test_ti_indexes_equal_a_full_scan_through_random_changes(seed: int) -> None:
    rng = random.Random(seed)
    table = TaskInstanceTable()
    next_id = 0
    id_kind = seed % 3  # 0: increasing ids, 1: all ties (0), 2: random ids
    for _ in range(60):
        keys = list(table)
        action = rng.random()
        if action < 0.45 or not keys:
            next_id += 1
            row_id = next_id if id_kind == 0 else 0 if id_kind == 1 else rng.randint(0, 9)
            table.insert(_ti(rng.choice(DAGS), rng.choice(RUN_IDS), rng.choice(TASKS),
                             rng.choice([None, "success", "failed"]), row_id, rng.choice([-1, 0, 1])))
        elif action < 0.75:
            table.set_state(table[rng.choice(keys)], rng.choice(sorted(TI_MANUAL, key=str)))
        elif action < 0.85:
            table.update(table[rng.choice(keys)], **_ti_field_change(rng))
        else:
            table.delete(table[rng.choice(keys)])
        if rng.random() < 0.3:  # reads in between put buckets in order at different moments
            assert_ti_indexes(table)
    assert_ti_indexes(table)


def _random_change(rng: random.Random, state: State, row_id: int) -> None:
    runs, tis = state.dag_runs, state.task_instances
    action = rng.random()
    if action < 0.2 or not runs:
        key = (rng.choice(DAGS), rng.choice(RUN_IDS))
        if key not in runs:
            runs.insert(_run(*key, row_id))
    elif action < 0.3:
        runs.delete(runs[rng.choice(list(runs))])
    elif action < 0.35:
        runs.update(runs[rng.choice(list(runs))], note=str(row_id), start_date=rng.choice([None, _hour(row_id % 3)]))
    elif action < 0.4:
        run, target = runs[rng.choice(list(runs))], rng.choice(sorted(RUN_STATES))
        if run_can_move(run.state, target):
            runs.set_state(run, target, _hour(row_id % 3))
    elif action < 0.6 or not tis:
        tis.insert(_ti(rng.choice(DAGS), rng.choice(RUN_IDS), rng.choice(TASKS),
                       rng.choice([None, "success", "failed"]), row_id, rng.choice([-1, 0])))
    elif action < 0.75:
        tis.set_state(tis[rng.choice(list(tis))], rng.choice(sorted(TI_MANUAL, key=str)))
    elif action < 0.85:
        tis.update(tis[rng.choice(list(tis))], **_ti_field_change(rng))
    else:
        tis.delete(tis[rng.choice(list(tis))])
    if rng.random() < 0.3:  # reads in between put state buckets in order at different moments
        assert_ti_indexes(tis)


@pytest.mark.parametrize("seed", range(30))
def test_undoing_random_table_changes_restores_rows_indexes_and_order(seed: int) -> None:
    rng = random.Random(seed)
    state = State()
    for row_id in range(1, 25):
        _random_change(rng, state, row_id if seed % 2 else rng.randint(0, 30))
    seeded = pickle.loads(pickle.dumps(state))
    state.changes.start()
    for row_id in range(25, 60):
        _random_change(rng, state, row_id if seed % 2 else rng.randint(0, 30))
    logged = len(state.changes)
    assert logged > 0 and state.changes.undo() == logged and len(state.changes) == 0
    assert differences(state, seeded) == [] and index_problems(state) == []
    assert_ti_indexes(state.task_instances)
    assert_run_indexes(state.dag_runs)


def test_replacing_a_task_instance_keeps_its_place_and_indexes() -> None:
    table = TaskInstanceTable()
    for row_id, task_id in enumerate(TASKS, start=1):
        table.insert(_ti("a", "r1", task_id, "success", row_id))
    table.insert(_ti("a", "r1", "t1", "failed", 9))
    assert list(table) == [("a", "r1", task_id, -1) for task_id in TASKS]
    assert_ti_indexes(table)


def test_ti_moves_are_declared_and_keys_are_fixed() -> None:
    table = TaskInstanceTable()
    ti = _ti("a", "r1", "t1", "success", 1)
    table.insert(ti)
    with pytest.raises(ValueError, match="cannot move"):
        table.set_state(ti, "queued")  # only the scheduler queues, and never a finished try
    table.set_state(ti, None)
    table.set_state(ti, "queued")
    with pytest.raises(ValueError, match="not changed"):
        table.update(ti, state="running")
    table.update(ti, try_number=2)
    assert ti.try_number == 2 and list(table.in_state("queued")) == [ti]


# --- the tables inside the state --------------------------------------------------------------------

def test_tables_pickle_compare_and_share_records_with_their_indexes() -> None:
    state = State()
    state.dag_runs.insert(_run("a", "r1", 1))
    state.task_instances.insert(_ti("a", "r1", "t1", "success", 1))
    state.task_instances.insert(_ti("a", "r1", "t2", None, 2))
    state.task_instances.set_state(state.task_instances[("a", "r1", "t2", -1)], "success")
    copy: State = pickle.loads(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
    assert copy == state
    assert copy.dag_runs[("a", "r1")] is copy.runs_by_dag["a"]["r1"]
    assert copy.task_instances[("a", "r1", "t1", -1)] is copy.tis_by_run[("a", "r1")][("t1", -1)]
    assert list(copy.task_instances.in_state("success")) == list(copy.task_instances.values())
    copy.task_instances.set_state(copy.task_instances[("a", "r1", "t1", -1)], "failed")
    assert copy != state
    assert state.task_instances[("a", "r1", "t1", -1)].state == "success"


def test_pool_slot_sums_follow_inserts_moves_pool_changes_deletes_undo_and_pickling() -> None:
    state = State()
    tis = state.task_instances
    tis.insert(_ti("a", "r1", "t1", "running", 5))  # p2, 1 slot
    tis.insert(_ti("a", "r1", "t2", "running", 7))  # p1, 3 slots
    tis.insert(_ti("a", "r1", "t3", "queued", 8))   # p2, 0 slots: no sum kept
    assert tis.slots_by_pool == {"p2": {"running": 1}, "p1": {"running": 3}}
    seeded: State = pickle.loads(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
    assert seeded.task_instances.slots_by_pool == tis.slots_by_pool
    state.changes.start()
    tis.set_state(tis[("a", "r1", "t1", -1)], "success")
    tis.update(tis[("a", "r1", "t2", -1)], pool="p2", pool_slots=2)
    tis.delete(tis[("a", "r1", "t3", -1)])
    tis.insert(_ti("a", "r1", "t3", "queued", 10))  # p1, 2 slots
    assert tis.slots_by_pool == {"p2": {"success": 1, "running": 2}, "p1": {"queued": 2}}
    assert tis.pool_slots("p1", "queued") == 2 and tis.pool_slots("p1", "running") == 0
    state.changes.undo()
    assert tis.slots_by_pool == {"p2": {"running": 1}, "p1": {"running": 3}}
    assert index_problems(state) == []


@pytest.mark.parametrize("seed", range(10))
def test_a_state_filtered_page_of_every_run_counts_by_state_and_matches_a_scan(seed: int) -> None:
    rng = random.Random(seed)
    state = State()
    for row_id in range(1, 80):
        _random_change(rng, state, row_id)
    for _ in range(20):
        states = rng.sample(sorted(RUN_STATES), rng.randint(1, 3))
        offset, limit = rng.randint(0, 6), rng.choice([None, 0, 1, 3, 50])
        total, page = page_runs(state, None, {}, states, None, offset, limit)
        scan = [run for run in state.dag_runs.values() if run.state in states]
        assert total == len(scan) and page == scan[offset:None if limit is None else offset + limit]


def test_a_refused_update_moves_no_row_out_of_its_indexes() -> None:
    """A fixed field among the changes is refused before any index is touched: the row stays
    where every order and group has it."""
    state = State()
    run = _run("a", "r1", 1)
    state.dag_runs.insert(run)
    ti = _ti("a", "r1", "t1", "success", 1)
    state.task_instances.insert(ti)
    with pytest.raises(ValueError, match="logical_date is not changed by update"):
        state.dag_runs.update(run, start_date=_hour(5), logical_date=_hour(6))
    with pytest.raises(ValueError, match="state is not changed by update"):
        state.task_instances.update(ti, queue="q2", duration=9.0, state="failed")
    assert (run.start_date, ti.queue, ti.state) == (_hour(1), QUEUES[1], "success")
    assert index_problems(state) == []


def test_task_instances_without_rendered_fields_share_one_read_only_object_through_a_pickle() -> None:
    table = TaskInstanceTable()
    table.insert(_ti("a", "r1", "t1", "success", 1))
    table.insert(_ti("a", "r1", "t2", "success", 2))
    rendered = TaskInstance(dag_id="a", dag_run_id="r1", task_id="t3", id=3, rendered_fields={"sql": "SELECT 1"},
                            executor_config="".join(["{", "}"]))  # a new string object, made at run time
    table.insert(rendered)
    first, second = table[("a", "r1", "t1", -1)], table[("a", "r1", "t2", -1)]
    assert first.rendered_fields == {} and first.rendered_fields is second.rendered_fields
    assert rendered.rendered_fields == {"sql": "SELECT 1"} and rendered.executor_config is first.executor_config
    with pytest.raises(TypeError, match="read-only"):
        first.rendered_fields["sql"] = "changed for every row at once"
    with pytest.raises(TypeError, match="read-only"):
        first.rendered_fields.update(sql="changed for every row at once")
    assert second.rendered_fields == {}
    copy: TaskInstanceTable = pickle.loads(pickle.dumps(table, protocol=pickle.HIGHEST_PROTOCOL))
    assert copy == table
    thawed_first, thawed_second = copy[("a", "r1", "t1", -1)], copy[("a", "r1", "t2", -1)]
    assert thawed_first.rendered_fields is thawed_second.rendered_fields
    with pytest.raises(TypeError, match="read-only"):
        thawed_first.rendered_fields.setdefault("sql", "")


def test_a_task_instance_takes_its_runs_logical_date_as_its_execution_date_and_is_ordered_by_it() -> None:
    state = State()
    state.dag_runs.insert(_run("a", "r1", 1))
    state.dag_runs.insert(_run("b", "r1", 2))
    stray = _ti("c", "r9", "t1", None, 3)  # no such run: no execution date, in no date range
    for ti in (_ti("a", "r1", "t1", None, 1), _ti("b", "r1", "t1", None, 2), stray):
        ti.execution_date = WHEN - timedelta(days=9)  # whatever a caller says, the run decides
        state.task_instances.insert(ti)
    tis = state.task_instances
    assert tis[("a", "r1", "t1", -1)].execution_date == state.dag_runs[("a", "r1")].logical_date == _hour(1)
    assert tis[("b", "r1", "t1", -1)].execution_date == _hour(2)
    assert stray.execution_date is None
    assert [ti.id for ti in tis.between("execution_date", None, None)] == [1, 2]
    with pytest.raises(ValueError, match="execution_date is not changed by update"):
        tis.update(tis[("a", "r1", "t1", -1)], execution_date=_hour(3))
    copy: State = pickle.loads(pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL))
    assert copy.task_instances.runs is copy.dag_runs
    assert [ti.id for ti in copy.task_instances.between("execution_date", _hour(2), None)] == [2]
