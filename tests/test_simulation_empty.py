"""Empty operators never reach the executor: as 2.5.3's `schedule_tis`, the scheduler marks an
EmptyOperator without outlets success where it stands (observed on a real 2.5.3 with
example_branch_operator: try_number 0, start_date = end_date, duration 0.0, no queued_when, no
hostname, no pid, no log file)."""

from __future__ import annotations

from mockflow.store import Store
from tests.test_simulation import idle, make_dag, make_store, tis, trigger


def empty_chain(scripts: dict[str, dict[str, object]] | None = None) -> Store:
    dag = make_dag({"start": ["work"], "work": ["end"], "end": []}, scripts=scripts)
    dag.tasks["start"].operator_class = "EmptyOperator"
    dag.tasks["end"].operator_class = "EmptyOperator"
    store = make_store(dag)
    trigger(store)
    idle(store)
    return store


def test_an_empty_operator_is_marked_success_without_a_try() -> None:
    store = empty_chain()
    rows = tis(store)
    for task_id in ("start", "end"):
        ti = rows[task_id]
        assert (ti.state, ti.try_number, ti.duration) == ("success", 0, 0.0)
        assert ti.start_date == ti.end_date is not None
        assert (ti.queued_when, ti.hostname, ti.pid) == (None, "", None)
        assert not [key for key in store.state.logs if key[2] == task_id]
    work = rows["work"]
    assert (work.state, work.try_number) == ("success", 1)
    start, end = rows["start"].end_date, rows["end"].start_date
    assert start is not None and work.start_date is not None and end is not None
    assert start < work.start_date < end
    assert store.state.dag_runs[("d", "r1")].state == "success"


def test_a_task_script_of_outcomes_runs_an_empty_operator_anyway() -> None:
    store = empty_chain({"end": {"outcomes": ["failed"]}})
    rows = tis(store)
    assert (rows["start"].state, rows["start"].try_number) == ("success", 0)
    assert (rows["end"].state, rows["end"].try_number) == ("failed", 1)
    assert store.state.dag_runs[("d", "r1")].state == "failed"
