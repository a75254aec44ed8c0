"""One try of a task instance, as a worker runs it: its start (try number, host, pid, log header)
and its end (outcome, XComs, the rest of the log, the branch it follows). Writes go through the
task-instance table and the store's XCom and log functions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mockflow.simulation.scripts import Script
from mockflow.store import task_logs, xcom
from mockflow.store.records import Dag, DagRun, TaskInstance
from mockflow.store.state import State
from mockflow.store.states import FAILED, RUNNING, SKIPPED, SUCCESS, UP_FOR_RETRY, ti_can_move
from mockflow.store.task_instances import relatives

WORKERS = 3  # hostnames airflow-worker-0 .. -2, as the default fixtures show
FIRST_PID = 30000
RULE = "-" * 80
PYTHON_OPERATORS = frozenset({"PythonOperator", "_PythonDecoratedOperator", "BranchPythonOperator",
                              "ShortCircuitOperator", "_ShortCircuitDecoratedOperator"})
SHORT_CIRCUITS = frozenset({"ShortCircuitOperator", "_ShortCircuitDecoratedOperator"})
XCOM_SKIPMIXIN_KEY = "skipmixin_key"


def log_time(when: datetime) -> str:
    """The file task handler's stamp: `[2024-06-10T12:00:04.000+0000]`."""
    return when.strftime("[%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+0000]"


def _line(when: datetime, where: str, message: str, level: str = "INFO") -> str:
    return f"{log_time(when)} {{{where}}} {level} - {message}\n"


def ti_repr(ti: TaskInstance, state: str) -> str:
    mapped = f" map_index={ti.map_index}" if ti.map_index >= 0 else ""
    return f"<TaskInstance: {ti.dag_id}.{ti.task_id} {ti.dag_run_id}{mapped} [{state}]>"


def _job_id(ti: TaskInstance, try_number: int) -> int:
    return ti.id * 8 + try_number  # the LocalTaskJob's id: one per try, the same for the same run


def start_try(state: State, ti: TaskInstance, run: DagRun, dag: Dag, now: datetime) -> None:
    """queued -> running: the next try number, a worker and a process, and the log's first lines."""
    table = state.task_instances
    table.set_state(ti, RUNNING)
    try_number = ti.try_number + 1
    # pid and host follow from the row and the try: the same run gives the same figures
    table.update(ti, try_number=try_number, start_date=now, end_date=None, duration=None,
                 hostname=f"airflow-worker-{ti.id % WORKERS}", pid=FIRST_PID + (ti.id * 97 + try_number) % 30000)
    xcom.clear_for_try(state, ti.dag_id, ti.dag_run_id, ti.task_id, ti.map_index)
    task_logs.write_log(state, ti, try_number, _header(ti, run, dag, try_number, now))


def _header(ti: TaskInstance, run: DagRun, dag: Dag, try_number: int, now: datetime) -> str:
    """The lines a 2.5.3 worker writes before the task's own output (`airflow tasks run`)."""
    job, queued = _job_id(ti, try_number), ti_repr(ti, "queued")
    command = ["airflow", "tasks", "run", ti.dag_id, ti.task_id, ti.dag_run_id, "--job-id", str(job), "--raw",
               "--subdir", f"DAGS_FOLDER/{dag.fileloc.rsplit('/', 1)[-1]}", "--cfg-path", f"/tmp/tmp{job:08x}"]
    if ti.map_index >= 0:
        command += ["--map-index", str(ti.map_index)]
    task = dag.tasks.get(ti.task_id)
    owner = str((task.wire.get("owner") if task else None) or "airflow")
    context = {"AIRFLOW_CTX_DAG_OWNER": owner, "AIRFLOW_CTX_DAG_ID": ti.dag_id, "AIRFLOW_CTX_TASK_ID": ti.task_id,
               "AIRFLOW_CTX_EXECUTION_DATE": run.logical_date.isoformat(), "AIRFLOW_CTX_TRY_NUMBER": str(try_number),
               "AIRFLOW_CTX_DAG_RUN_ID": ti.dag_run_id}
    return "".join([
        _line(now, "taskinstance.py:1090", f"Dependencies all met for dep_context=non-requeueable deps ti={queued}"),
        _line(now, "taskinstance.py:1090", f"Dependencies all met for dep_context=requeueable deps ti={queued}"),
        _line(now, "taskinstance.py:1288", f"\n{RULE}"),
        _line(now, "taskinstance.py:1289", f"Starting attempt {try_number} of {ti.max_tries + 1}"),
        _line(now, "taskinstance.py:1290", f"\n{RULE}"),
        _line(now, "taskinstance.py:1309", f"Executing <Task({ti.operator}): {ti.task_id}> on {run.logical_date}"),
        _line(now, "standard_task_runner.py:55", f"Started process {ti.pid} to run task"),
        _line(now, "standard_task_runner.py:82", f"Running: {command!r}"),
        _line(now, "standard_task_runner.py:83", f"Job {job}: Subtask {ti.task_id}"),
        _line(now, "task_command.py:389", f"Running {ti_repr(ti, 'running')} on host {ti.hostname}"),
        _line(now, "taskinstance.py:1516", "Exporting the following env vars:\n"
              + "\n".join(f"{name}={value}" for name, value in context.items())),
    ])


def end_try(state: State, ti: TaskInstance, run: DagRun, dag: Dag, script: Script, now: datetime) -> str:
    """running -> the try's outcome (failures retry while tries are left); returns the new state."""
    outcome = script.outcome(ti.try_number)
    retried = outcome == FAILED and ti.try_number <= ti.max_tries
    new_state = UP_FOR_RETRY if retried else outcome
    task = dag.tasks.get(ti.task_id)
    short_circuit = script.has_short_circuit or (task is not None and task.operator_class in SHORT_CIRCUITS)
    if new_state == SUCCESS:
        _push_xcoms(state, ti, script, short_circuit, now)
    table = state.task_instances
    table.set_state(ti, new_state)
    start = ti.start_date or now
    table.update(ti, end_date=now, duration=(now - start).total_seconds())
    followed = [] if task is None or script.branch is None else _followed(task.downstream_task_ids, script.branch)
    _finish_log(state, ti, run, script, new_state, short_circuit, now,
                _branch_lines(task.downstream_task_ids if task else [], script.branch, followed, now)
                if new_state == SUCCESS and script.branch is not None else [])
    if new_state == SUCCESS and script.branch is not None:
        skip_unfollowed(state, ti, dag, set(script.branch), now)
    if new_state == SUCCESS and short_circuit and not script.short_circuit:
        short_circuit_skip(state, ti, dag, script.ignore_downstream_trigger_rules, now)
    return new_state


def returned(script: Script, short_circuit: bool) -> tuple[bool, Any]:
    """Whether the callable's value becomes the `return_value` XCom, and that value."""
    if script.has_return_value and script.return_value is not None:
        return True, script.return_value
    if script.branch is not None:  # a branch operator returns the task ids it follows
        return True, list(script.branch)
    if short_circuit:  # the condition when truthy; a falsy one returns nothing
        return bool(script.short_circuit), script.short_circuit
    return False, None


def _push_xcoms(state: State, ti: TaskInstance, script: Script, short_circuit: bool, now: datetime) -> None:
    for key, value in script.xcoms.items():
        xcom.push(state, ti.dag_id, ti.dag_run_id, ti.task_id, ti.map_index, key, value, now)
    pushed, value = returned(script, short_circuit)
    if pushed:
        xcom.push(state, ti.dag_id, ti.dag_run_id, ti.task_id, ti.map_index, "return_value", value, now)


def _followed(downstream: list[str], branch: tuple[str, ...]) -> list[str]:
    """`skip_all_except`'s `follow_task_ids`: the direct downstream tasks the branch names."""
    return [task_id for task_id in downstream if task_id in branch]


def _branch_lines(downstream: list[str], branch: tuple[str, ...], followed: list[str], now: datetime) -> list[str]:
    skipped = [task_id for task_id in downstream if task_id not in followed]
    return [_line(now, "python.py:211", f"Branch callable return {list(branch)}"),
            _line(now, "skipmixin.py:155", f"Following branch {list(branch)}"),
            _line(now, "skipmixin.py:211", f"Skipping tasks {skipped}")]


def _finish_log(state: State, ti: TaskInstance, run: DagRun, script: Script, new_state: str, short_circuit: bool,
                now: datetime, operator_lines: list[str]) -> None:
    lines = [_line(now, "logging_mixin.py:137", line) for line in script.log]
    if new_state == SUCCESS and ti.operator in PYTHON_OPERATORS:
        value = script.short_circuit if short_circuit else returned(script, False)[1]
        lines.append(_line(now, "python.py:177", f"Done. Returned value was: {value}"))
    lines += operator_lines
    if new_state == SUCCESS and short_circuit:
        lines += _short_circuit_lines(script, now)
    mapped = f"map_index={ti.map_index}, " if ti.map_index >= 0 else ""
    facts = (f"dag_id={ti.dag_id}, task_id={ti.task_id}, {mapped}"
             f"execution_date={run.logical_date.strftime('%Y%m%dT%H%M%S')}, "
             f"start_date={(ti.start_date or now).strftime('%Y%m%dT%H%M%S')}, end_date={now.strftime('%Y%m%dT%H%M%S')}")
    code = 0
    if new_state not in (SUCCESS, SKIPPED):
        code, error = 1, "the simulation scripted this try to fail"
        lines += [_line(now, "taskinstance.py:1776", "Task failed with exception", "ERROR"),
                  f"airflow.exceptions.AirflowException: {error}\n"]
    lines.append(_line(now, "taskinstance.py:1327", f"Marking task as {new_state.upper()}. {facts}"))
    if code:
        lines.append(_line(now, "standard_task_runner.py:100", f"Failed to execute job {_job_id(ti, ti.try_number)} "
                           f"for task {ti.task_id} ({error}; {ti.pid})", "ERROR"))
    lines += [_line(now, "local_task_job.py:212", f"Task exited with return code {code}"),
              _line(now, "taskinstance.py:2596", "0 downstream tasks scheduled from follow-on schedule check")]
    task_logs.write_log(state, ti, ti.try_number, "".join(lines), append=True)


def _short_circuit_lines(script: Script, now: datetime) -> list[str]:
    condition = script.short_circuit
    lines = [_line(now, "python.py:248", f"Condition result is {condition}")]
    if condition:
        return [*lines, _line(now, "python.py:251", "Proceeding with downstream tasks...")]
    if script.ignore_downstream_trigger_rules:
        lines.append(_line(now, "python.py:262", "Skipping all downstream tasks..."))
    else:
        lines.append(_line(now, "python.py:265", "Skipping downstream tasks while respecting trigger rules..."))
    return [*lines, _line(now, "python.py:270", "Done.")]


def short_circuit_skip(state: State, ti: TaskInstance, dag: Dag, everything: bool, now: datetime) -> None:
    """`ShortCircuitOperator` on a falsy condition: every downstream task (or only the direct ones,
    the scheduler's trigger rules deciding the rest) is skipped, and the skipped ids are pushed."""
    task = dag.tasks.get(ti.task_id)
    if task is None:
        return
    if everything:
        doomed = relatives(dag, ti.task_id, upstream=False, downstream=True) - {ti.task_id}
    else:
        doomed = set(task.downstream_task_ids)
    if not doomed:
        return
    table = state.task_instances
    for (task_id, _), other in list(table.of_run(ti.dag_id, ti.dag_run_id).items()):
        # `_set_state_to_skipped` sets them whatever their state; a move the table forbids is left
        if task_id in doomed and ti_can_move(other.state, SKIPPED):
            table.set_state(other, SKIPPED)
            table.update(other, start_date=now, end_date=now, duration=None)
    skipped = [task_id for task_id in dag.tasks if task_id in doomed]
    xcom.push(state, ti.dag_id, ti.dag_run_id, ti.task_id, ti.map_index, XCOM_SKIPMIXIN_KEY, {"skipped": skipped},
              now)


def skip_unfollowed(state: State, ti: TaskInstance, dag: Dag, followed: set[str], now: datetime) -> None:
    """`SkipMixin.skip_all_except`: the direct downstream tasks not followed are skipped."""
    task = dag.tasks.get(ti.task_id)
    if task is None:
        return
    doomed = set(task.downstream_task_ids) - followed
    table = state.task_instances
    for (task_id, _), other in list(table.of_run(ti.dag_id, ti.dag_run_id).items()):
        if task_id in doomed and other.state is None:  # `_set_state_to_skipped` leaves `duration` alone
            table.set_state(other, SKIPPED)
            table.update(other, start_date=now, end_date=now, duration=None)
    # what `NotPreviouslySkippedDep` reads when the skipped tasks are cleared
    xcom.push(state, ti.dag_id, ti.dag_run_id, ti.task_id, ti.map_index, XCOM_SKIPMIXIN_KEY,
              {"followed": _followed(task.downstream_task_ids, tuple(followed))}, now)
