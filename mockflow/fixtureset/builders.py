"""Builders of fixture objects in the real server's wire shapes (DAG, task, run, task instance, log).

Shared by the generator (`mockflow generate`) and by whoever writes a fixture set in Python: the
shapes and the small quirks (float `retries`, `Timezone('UTC')`, Param objects, TimeDelta
objects) live in one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from mockflow.values import value_class
from mockflow.wire import iso

JSON = dict[str, Any]


@value_class(frozen=True, slots=True)
class Operator:
    class_name: str
    module_path: str
    template_fields: tuple[str, ...] = ()
    ui_color: str = "#fff"
    operator_name: str | None = None  # what the task list shows, when not the class name
    links: tuple[tuple[str, str, str], ...] = ()  # (link name, link class, its module)


_PY = ("templates_dict", "op_args", "op_kwargs")
OPERATORS: dict[str, Operator] = {op.operator_name or op.class_name: op for op in (
    Operator("BashOperator", "airflow.operators.bash", ("bash_command", "env"), "#f0ede4"),
    Operator("PythonOperator", "airflow.operators.python", _PY, "#ffefeb"),
    Operator("BranchPythonOperator", "airflow.operators.python", _PY, "#ffefeb"),
    Operator("_PythonDecoratedOperator", "airflow.decorators.python", _PY, "#ffefeb", "@task"),
    Operator("EmptyOperator", "airflow.operators.empty", (), "#e8f7e4"),
    Operator("PostgresOperator", "airflow.providers.postgres.operators.postgres", ("sql",), "#ededed"),
    Operator("SQLExecuteQueryOperator", "airflow.providers.common.sql.operators.sql",
             ("conn_id", "sql", "parameters"), "#cdaaed"),
    Operator("SnowflakeOperator", "airflow.providers.snowflake.operators.snowflake", ("sql",), "#ededed"),
    Operator("S3KeySensor", "airflow.providers.amazon.aws.sensors.s3", ("bucket_key", "bucket_name"), "#66c3ff"),
    Operator("LocalFilesystemToS3Operator", "airflow.providers.amazon.aws.transfers.local_to_s3",
             ("filename", "dest_key", "dest_bucket"), "#fff"),
    Operator("HttpSensor", "airflow.providers.http.sensors.http", ("endpoint", "request_params", "headers"),
             "#e6f1f2"),
    Operator("SimpleHttpOperator", "airflow.providers.http.operators.http", ("endpoint", "data", "headers"),
             "#f4a460"),
    Operator("SSHOperator", "airflow.providers.ssh.operators.ssh", ("command", "remote_host"), "#fff"),
    Operator("SlackWebhookOperator", "airflow.providers.slack.operators.slack_webhook",
             ("webhook_token", "message", "attachments", "blocks", "channel", "username", "proxy"), "#fff"),
    Operator("TimeDeltaSensorAsync", "airflow.sensors.time_delta", (), "#e6f1f2"),
    Operator("TriggerDagRunOperator", "airflow.operators.trigger_dagrun",
             ("trigger_dag_id", "trigger_run_id", "execution_date", "conf"), "#ffefeb",
             links=(("Triggered DAG", "TriggerDagRunLink", "airflow.operators.trigger_dagrun"),)),
    Operator("ExternalTaskSensor", "airflow.sensors.external_task",
             ("external_dag_id", "external_task_id", "external_task_ids", "external_task_group_id"), "#19647e",
             links=(("External DAG", "ExternalDagLink", "airflow.sensors.external_task"),)),
)}


def time_delta(value: timedelta) -> JSON:
    return {"__type": "TimeDelta", "days": value.days, "seconds": value.seconds, "microseconds": value.microseconds}


def cron(expression: str) -> JSON:
    return {"__type": "CronExpression", "value": expression}


def param(value: Any, description: str | None = None, schema: JSON | None = None) -> JSON:
    return {"__class": "airflow.models.param.Param", "value": value, "description": description,
            "schema": schema or {}}


@value_class(slots=True)
class TaskSpec:
    """What a fixture author decides about a task; `task_wire` fills in the rest."""

    task_id: str
    operator: str
    downstream: Sequence[str] = ()
    pool: str = "default_pool"
    pool_slots: int = 1
    retries: int = 0
    retry_delay: timedelta = timedelta(minutes=5)
    priority_weight: int = 1
    trigger_rule: str = "all_success"
    execution_timeout: timedelta | None = None
    queue: str = "default"
    map_length: int | None = None  # set: the task is mapped
    outlets: Sequence[str] = ()
    depends_on_past: bool = False


def task_wire(spec: TaskSpec, owner: str, start_date: datetime) -> JSON:
    op = OPERATORS[spec.operator]
    mock: JSON = {}
    if spec.map_length is not None:
        mock["map_length"] = spec.map_length
    if op.links:
        mock["extra_links"] = [name for name, _, _ in op.links]
    if spec.outlets:
        mock["outlets"] = list(spec.outlets)
    wire: JSON = {
        "class_ref": {"class_name": op.class_name, "module_path": op.module_path},
        "depends_on_past": spec.depends_on_past,
        "downstream_task_ids": sorted(spec.downstream),
        "end_date": None,
        "execution_timeout": time_delta(spec.execution_timeout) if spec.execution_timeout else None,
        "extra_links": [{"class_name": cls, "module_path": module} for _, cls, module in op.links],
        "is_mapped": spec.map_length is not None,
        "operator_name": op.operator_name or op.class_name,
        "owner": owner,
        "params": {},
        "pool": spec.pool,
        "pool_slots": float(spec.pool_slots),
        "priority_weight": float(spec.priority_weight),
        "queue": spec.queue,
        "retries": float(spec.retries),
        "retry_delay": time_delta(spec.retry_delay),
        "retry_exponential_backoff": False,
        "start_date": iso(start_date),
        "task_id": spec.task_id,
        "template_fields": list(op.template_fields),
        "trigger_rule": spec.trigger_rule,
        "ui_color": op.ui_color,
        "ui_fgcolor": "#000",
        "wait_for_downstream": False,
        "weight_rule": "downstream",
    }
    if mock:
        wire["x-mockflow"] = mock
    return wire


def downstream_weights(specs: Sequence[TaskSpec]) -> dict[str, int]:
    """Each task's priority under the `downstream` weight rule: its weight plus all its descendants'."""
    by_id = {spec.task_id: spec for spec in specs}
    memo: dict[str, set[str]] = {}

    def below(task_id: str) -> set[str]:
        if task_id not in memo:
            found: set[str] = set()
            for child in by_id[task_id].downstream:
                found |= {child} | below(child)
            memo[task_id] = found
        return memo[task_id]

    return {t: by_id[t].priority_weight + sum(by_id[c].priority_weight for c in below(t)) for t in by_id}


def dag_wire(dag_id: str, *, schedule: JSON | None, timetable_description: str, owners: Sequence[str],
             tags: Iterable[str], start_date: datetime, parsed_at: datetime, description: str | None = None,
             is_paused: bool = False, is_active: bool = True, catchup: bool = False, doc_md: str | None = None,
             params: Mapping[str, JSON] | None = None, max_active_runs: int = 16, max_active_tasks: int = 16,
             dag_run_timeout: timedelta | None = None, next_dagrun: tuple[datetime, datetime, datetime] | None = None,
             fileloc: str | None = None) -> JSON:
    """The DAG and DAG-details fields, as the real server sends them (no `file_token`: mockflow signs it)."""
    nxt = [iso(value) for value in next_dagrun] if next_dagrun else [None, None, None]
    return {
        "dag_id": dag_id,
        "root_dag_id": None,
        "is_paused": is_paused,
        "is_active": is_active,
        "is_subdag": False,
        "last_parsed_time": iso(parsed_at),
        "last_pickled": None,
        "last_expired": None,
        "scheduler_lock": None,
        "pickle_id": None,
        "default_view": "grid",
        "fileloc": fileloc or f"/opt/airflow/dags/{dag_id}.py",
        "owners": list(owners),
        "description": description,
        "schedule_interval": schedule,
        "timetable_description": timetable_description,
        "tags": [{"name": tag} for tag in tags],
        "max_active_tasks": max_active_tasks,
        "max_active_runs": max_active_runs,
        "has_task_concurrency_limits": False,
        "has_import_errors": False,
        "next_dagrun": nxt[0],
        "next_dagrun_data_interval_start": nxt[1],
        "next_dagrun_data_interval_end": nxt[2],
        "next_dagrun_create_after": nxt[2],
        # DAG details
        "catchup": catchup,
        "concurrency": max_active_tasks,
        "dag_run_timeout": time_delta(dag_run_timeout) if dag_run_timeout else None,
        "doc_md": doc_md,
        "end_date": None,
        "is_paused_upon_creation": None,
        "last_parsed": iso(parsed_at),
        "orientation": "LR",
        "params": dict(params or {}),
        "render_template_as_native_obj": False,
        "start_date": iso(start_date),
        "timezone": "Timezone('UTC')",
    }


def run_wire(dag_id: str, run_id: str, *, logical_date: datetime, interval: tuple[datetime, datetime],
             state: str, run_type: str, start: datetime | None, end: datetime | None,
             conf: JSON | None = None, note: str | None = None) -> JSON:
    return {
        "dag_run_id": run_id,
        "dag_id": dag_id,
        "logical_date": iso(logical_date),
        "execution_date": iso(logical_date),
        "start_date": iso(start),
        "end_date": iso(end),
        "data_interval_start": iso(interval[0]),
        "data_interval_end": iso(interval[1]),
        "last_scheduling_decision": iso(end or start),
        "run_type": run_type,
        "state": state,
        "external_trigger": run_type == "manual",
        "conf": dict(conf or {}),
        "note": note,
    }


def run_id_for(run_type: str, logical_date: datetime) -> str:
    return f"{run_type}__{iso(logical_date)}"


@value_class(slots=True)
class Attempt:
    """How a task instance went: its state, tries so far, and when it ran."""

    state: str | None
    tries: int = 0
    start: datetime | None = None
    end: datetime | None = None
    queued: datetime | None = None
    hostname: str = ""
    pid: int | None = None


def ti_wire(run: JSON, spec: TaskSpec, attempt: Attempt, *, map_index: int = -1, weight: int = 1,
            operator: str | None = None, note: str | None = None, rendered: JSON | None = None) -> JSON:
    duration = (attempt.end - attempt.start).total_seconds() if attempt.start and attempt.end else None
    return {
        "task_id": spec.task_id,
        "dag_id": run["dag_id"],
        "dag_run_id": run["dag_run_id"],
        "map_index": map_index,
        "execution_date": run["logical_date"],
        "start_date": iso(attempt.start),
        "end_date": iso(attempt.end),
        "duration": duration,
        "state": attempt.state,
        "try_number": attempt.tries,
        "max_tries": spec.retries,
        "hostname": attempt.hostname,
        "unixname": "airflow",
        "pool": spec.pool,
        "pool_slots": spec.pool_slots,
        "queue": spec.queue,
        "priority_weight": weight,
        "operator": operator or OPERATORS[spec.operator].class_name,
        "queued_when": iso(attempt.queued),
        "pid": attempt.pid,
        "executor_config": "{}",
        "note": note,
        "sla_miss": None,
        "rendered_fields": dict(rendered or {}),
        "trigger": None,
        "triggerer_job": None,
    }


def log_text(ti: JSON, try_number: int, outcome: str, body: Sequence[str] = (), *, at: datetime,
             error: Sequence[str] = ()) -> str:
    """A task log in Airflow's format; `outcome` is SUCCESS, FAILED, UP_FOR_RETRY or RUNNING.

    `body` lines starting with `{` are log records (they get the time stamp); `error` is the traceback."""
    stamp = at.strftime("[%Y-%m-%d, %H:%M:%S UTC]")
    key = f"{ti['dag_id']}.{ti['task_id']} {ti['dag_run_id']}"
    rule = "-" * 80
    lines = [
        f"{stamp} {{taskinstance.py:1090}} INFO - Dependencies all met for <TaskInstance: {key} [queued]>",
        f"{stamp} {{taskinstance.py:1288}} INFO -",
        rule,
        f"{stamp} {{taskinstance.py:1289}} INFO - Starting attempt {try_number} of {ti['max_tries'] + 1}",
        rule,
        f"{stamp} {{taskinstance.py:1308}} INFO - Executing <Task({ti['operator']}): {ti['task_id']}> on "
        f"{ti['execution_date']}",
        f"{stamp} {{standard_task_runner.py:55}} INFO - Started process {ti['pid'] or 4242} to run task",
        *(f"{stamp} {line}" if line.startswith("{") else line for line in body),
    ]
    compact = ti["execution_date"][:19].replace("-", "").replace(":", "")
    marking = f"dag_id={ti['dag_id']}, task_id={ti['task_id']}, execution_date={compact}"
    if outcome == "SUCCESS":
        lines.append(f"{stamp} {{taskinstance.py:1318}} INFO - Marking task as SUCCESS. {marking}")
        lines.append(f"{stamp} {{local_task_job.py:208}} INFO - Task exited with return code 0")
    elif outcome in ("FAILED", "UP_FOR_RETRY"):
        lines.append(f"{stamp} {{taskinstance.py:1776}} ERROR - Task failed with exception")
        lines.extend(error or ("Traceback (most recent call last):", "RuntimeError: the task failed"))
        lines.append(f"{stamp} {{taskinstance.py:1318}} INFO - Marking task as {outcome}. {marking}")
        lines.append(f"{stamp} {{local_task_job.py:208}} INFO - Task exited with return code 1")
    return "\n".join(lines) + "\n"
