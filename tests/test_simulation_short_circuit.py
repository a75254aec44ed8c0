"""Short-circuits, branches' skip records and the log lines of a failed try (docs/simulation.md).

As `ShortCircuitOperator` in 2.5.3: a falsy condition skips every downstream task (or, with
`ignore_downstream_trigger_rules` false, only the direct ones, and trigger rules decide the rest),
pushes `skipmixin_key` = {"skipped": [...]}, and no `return_value`; a truthy one is returned."""

from __future__ import annotations

from typing import Any

from mockflow.store import Store
from tests.test_simulation import at, idle, make_dag, make_store, tis, trigger


def circuit(script: dict[str, Any], rules: dict[str, str] | None = None) -> Store:
    dag = make_dag({"check": ["load"], "load": ["report"], "report": []}, scripts={"check": script}, rules=rules)
    dag.tasks["check"].operator_class = "ShortCircuitOperator"
    store = make_store(dag)
    trigger(store)
    idle(store)
    return store


def xcoms(store: Store) -> dict[str, Any]:
    return {key[4]: entry.value for key, entry in store.state.xcoms.items() if key[2] == "check"}


def check_log(store: Store) -> str:
    return store.state.logs[("d", "r1", "check", -1, 1)].content


def test_a_falsy_condition_skips_everything_downstream_whatever_its_trigger_rule() -> None:
    store = circuit({"short_circuit": False}, rules={"report": "all_done"})
    rows = tis(store)
    check = rows["check"]
    assert {task: ti.state for task, ti in rows.items()} == {"check": "success", "load": "skipped", "report": "skipped"}
    assert rows["load"].start_date == rows["load"].end_date == check.end_date
    assert rows["report"].end_date == check.end_date  # skipped with it, not one loop later
    assert xcoms(store) == {"skipmixin_key": {"skipped": ["load", "report"]}}
    assert store.state.dag_runs[("d", "r1")].state == "success"
    log = check_log(store)
    for line in ("{python.py:177} INFO - Done. Returned value was: False",
                 "{python.py:248} INFO - Condition result is False",
                 "{python.py:262} INFO - Skipping all downstream tasks...", "{python.py:270} INFO - Done."):
        assert line in log


def test_respecting_trigger_rules_skips_only_the_direct_downstream() -> None:
    store = circuit({"short_circuit": 0, "ignore_downstream_trigger_rules": False}, rules={"report": "all_done"})
    rows = tis(store)
    assert (rows["load"].state, rows["report"].state) == ("skipped", "success")  # all_done runs after a skip
    assert xcoms(store) == {"skipmixin_key": {"skipped": ["load"]}}
    assert "Skipping downstream tasks while respecting trigger rules..." in check_log(store)
    strict = tis(circuit({"short_circuit": False, "ignore_downstream_trigger_rules": False}))
    assert strict["report"].state == "skipped" and strict["report"].start_date == at(8)  # the scheduler's next loop


def test_a_short_circuit_continues_by_default_and_returns_its_condition() -> None:
    store = circuit({})
    assert {ti.state for ti in tis(store).values()} == {"success"}
    assert xcoms(store) == {"return_value": True}
    assert "{python.py:251} INFO - Proceeding with downstream tasks..." in check_log(store)


def test_a_failed_try_logs_as_a_2_5_3_worker_does() -> None:
    store = make_store(make_dag({"a": []}, scripts={"a": {"outcomes": ["failed"], "duration": 3}}, retries={"a": 1}))
    trigger(store)
    idle(store)
    first = store.state.logs[("d", "r1", "a", -1, 1)].content.splitlines()
    assert first[-6:] == [
        "[2024-06-10T12:00:05.000+0000] {taskinstance.py:1776} ERROR - Task failed with exception",
        "airflow.exceptions.AirflowException: the simulation scripted this try to fail",
        "[2024-06-10T12:00:05.000+0000] {taskinstance.py:1327} INFO - Marking task as UP_FOR_RETRY. dag_id=d, "
        "task_id=a, execution_date=20240610T120000, start_date=20240610T120002, end_date=20240610T120005",
        "[2024-06-10T12:00:05.000+0000] {standard_task_runner.py:100} ERROR - Failed to execute job 9 for task a "
        "(the simulation scripted this try to fail; 30098)",
        "[2024-06-10T12:00:05.000+0000] {local_task_job.py:212} INFO - Task exited with return code 1",
        "[2024-06-10T12:00:05.000+0000] {taskinstance.py:2596} INFO - 0 downstream tasks scheduled from follow-on "
        "schedule check"]
    second = store.state.logs[("d", "r1", "a", -1, 2)].content
    assert "Starting attempt 2 of 2" in second and "Marking task as FAILED." in second


def test_a_branch_records_what_it_followed_and_logs_it() -> None:
    dag = make_dag({"choose": ["left", "right"], "left": [], "right": []}, scripts={"choose": {"branch": ["left"]}})
    dag.tasks["choose"].operator_class = "BranchPythonOperator"
    store = make_store(dag)
    trigger(store)
    idle(store)
    rows = tis(store)
    assert (rows["right"].state, rows["right"].duration) == ("skipped", None)  # as `_set_state_to_skipped` leaves it
    entries = {key[4]: entry.value for key, entry in store.state.xcoms.items() if key[2] == "choose"}
    assert entries == {"return_value": ["left"], "skipmixin_key": {"followed": ["left"]}}
    log = store.state.logs[("d", "r1", "choose", -1, 1)].content
    for line in ("{python.py:177} INFO - Done. Returned value was: ['left']",
                 "{python.py:211} INFO - Branch callable return ['left']",
                 "{skipmixin.py:155} INFO - Following branch ['left']",
                 "{skipmixin.py:211} INFO - Skipping tasks ['right']"):
        assert line in log
