"""One try of a task instance, as a worker runs it: its start (try number, host, pid, log header)
and its end (outcome, XComs, the rest of the log, the branch it follows). Writes go through the
task-instance table and the store's XCom and log functions."""

from __future__ import annotations

from datetime import datetime

from mockflow.simulation.scripts import Script
from mockflow.store import task_logs, xcom
from mockflow.store.records import Dag, DagRun, TaskInstance
from mockflow.store.state import State
from mockflow.store.states import FAILED, RUNNING, SKIPPED, SUCCESS, UP_FOR_RETRY

WORKERS = 3  # hostnames airflow-worker-0 .. -2, as the default fixtures show
FIRST_PID = 30000


def log_time(when: datetime) -> str:
    return when.strftime("[%Y-%m-%d, %H:%M:%S UTC]")


def start_try(state: State, ti: TaskInstance, run: DagRun, now: datetime) -> None:
    """queued -> running: the next try number, a worker and a process, and the log's first lines."""
    table = state.task_instances
    table.set_state(ti, RUNNING)
    try_number = ti.try_number + 1
    # pid and host follow from the row and the try: the same run gives the same figures
    table.update(ti, try_number=try_number, start_date=now, end_date=None, duration=None,
                 hostname=f"airflow-worker-{ti.id % WORKERS}", pid=FIRST_PID + (ti.id * 97 + try_number) % 30000)
    xcom.clear_for_try(state, ti.dag_id, ti.dag_run_id, ti.task_id, ti.map_index)
    stamp, label = log_time(now), f"{ti.dag_id}.{ti.task_id} {ti.dag_run_id}"
    mapped = f" map_index={ti.map_index}" if ti.map_index >= 0 else ""
    rule = "-" * 80
    header = (f"{stamp} {{taskinstance.py:1090}} INFO - Dependencies all met for <TaskInstance: {label}{mapped} "
              f"[queued]>\n{stamp} {{taskinstance.py:1288}} INFO -\n{rule}\n"
              f"{stamp} {{taskinstance.py:1289}} INFO - Starting attempt {try_number} of {ti.max_tries + 1}\n{rule}\n"
              f"{stamp} {{taskinstance.py:1308}} INFO - Executing <Task({ti.operator}): {ti.task_id}> on "
              f"{run.logical_date.isoformat()}\n"
              f"{stamp} {{standard_task_runner.py:55}} INFO - Started process {ti.pid} to run task\n")
    task_logs.write_log(state, ti, try_number, header)


def end_try(state: State, ti: TaskInstance, run: DagRun, dag: Dag, script: Script, now: datetime) -> str:
    """running -> the try's outcome (failures retry while tries are left); returns the new state."""
    outcome = script.outcome(ti.try_number)
    retried = outcome == FAILED and ti.try_number <= ti.max_tries
    new_state = UP_FOR_RETRY if retried else outcome
    if new_state == SUCCESS:
        _push_xcoms(state, ti, script, now)
    _finish_log(state, ti, run, script, new_state, now)
    table = state.task_instances
    table.set_state(ti, new_state)
    start = ti.start_date or now
    table.update(ti, end_date=now, duration=(now - start).total_seconds())
    if new_state == SUCCESS and script.branch is not None:
        skip_unfollowed(state, ti, dag, set(script.branch), now)
    return new_state


def _push_xcoms(state: State, ti: TaskInstance, script: Script, now: datetime) -> None:
    for key, value in script.xcoms.items():
        xcom.push(state, ti.dag_id, ti.dag_run_id, ti.task_id, ti.map_index, key, value, now)
    if script.has_return_value and script.return_value is not None:
        xcom.push(state, ti.dag_id, ti.dag_run_id, ti.task_id, ti.map_index, "return_value", script.return_value,
                  now)
    elif script.branch is not None:  # a branch operator returns the task ids it follows
        xcom.push(state, ti.dag_id, ti.dag_run_id, ti.task_id, ti.map_index, "return_value", list(script.branch),
                  now)


def _finish_log(state: State, ti: TaskInstance, run: DagRun, script: Script, new_state: str, now: datetime) -> None:
    stamp = log_time(now)
    lines = [f"{stamp} {{logging_mixin.py:137}} INFO - {line}" for line in script.log]
    when = run.logical_date.strftime("%Y%m%dT%H%M%S")
    start = (ti.start_date or now).strftime("%Y%m%dT%H%M%S")
    facts = f"dag_id={ti.dag_id}, task_id={ti.task_id}, execution_date={when}, start_date={start}, " \
            f"end_date={now.strftime('%Y%m%dT%H%M%S')}"
    if new_state == SUCCESS:
        lines += [f"{stamp} {{taskinstance.py:1318}} INFO - Marking task as SUCCESS. {facts}",
                  f"{stamp} {{local_task_job.py:208}} INFO - Task exited with return code 0"]
    elif new_state == SKIPPED:
        lines += [f"{stamp} {{taskinstance.py:1477}} INFO - Marking task as SKIPPED. {facts}",
                  f"{stamp} {{local_task_job.py:208}} INFO - Task exited with return code 0"]
    else:
        lines += [f"{stamp} {{taskinstance.py:1772}} ERROR - Task failed with exception",
                  "airflow.exceptions.AirflowException: the simulation scripted this try to fail",
                  f"{stamp} {{taskinstance.py:1327}} INFO - Marking task as {new_state.upper()}. {facts}",
                  f"{stamp} {{local_task_job.py:208}} INFO - Task exited with return code 1"]
    task_logs.write_log(state, ti, ti.try_number, "".join(line + "\n" for line in lines), append=True)


def skip_unfollowed(state: State, ti: TaskInstance, dag: Dag, followed: set[str], now: datetime) -> None:
    """`SkipMixin.skip_all_except`: the direct downstream tasks not followed are skipped."""
    task = dag.tasks.get(ti.task_id)
    if task is None:
        return
    doomed = set(task.downstream_task_ids) - followed
    table = state.task_instances
    for (task_id, _), other in list(table.of_run(ti.dag_id, ti.dag_run_id).items()):
        if task_id in doomed and other.state is None:
            table.set_state(other, SKIPPED)
            table.update(other, start_date=now, end_date=now, duration=0.0)
