"""The task-instance changes that arrive as forms: clearTaskInstances, updateTaskInstancesState
and the PATCH of one task instance (marshmallow-like loading, selection, effects, answers)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from mockflow.api.bodies import MISSING, UNKNOWN
from mockflow.problems import BadRequest, NotFound
from mockflow.store.records import Dag, DagRun, TaskInstance
from mockflow.store.state import JSON, State
from mockflow.store.task_instances import (
    FAILED,
    clear_task_instances,
    mark,
    reference_to_wire,
    references,
    relatives,
    run_tis,
    sorted_for_clear,
)
from mockflow.store.timetables import kind, on_schedule

# --- body loading (the marshmallow stage) ----------------------------------------------------------

_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|z|[+-]\d{2}:?\d{2})?$")


def load_form(body: Mapping[str, Any], fields: Sequence[str], *, required: Sequence[str] = (),
              datetimes: Sequence[str] = ()) -> dict[str, Any]:
    """A marshmallow-like load: declared order, datetimes parsed (naive ones refused at once, as
    Airflow's `validate_istimezone` does), missing required and unknown fields reported together."""
    errors: dict[str, list[str]] = {}
    loaded: dict[str, Any] = {}
    for name in fields:
        if name not in body:
            if name in required:
                errors[name] = [MISSING]
            continue
        value = body[name]
        if name in datetimes and value is not None:
            if not isinstance(value, str) or not _ISO_DATETIME.match(value.strip()):
                errors[name] = ["Not a valid datetime."]
                continue
            value = _aware(value)
        loaded[name] = value
    for name in sorted(set(body) - set(fields)):
        errors[name] = [UNKNOWN]
    if errors:
        raise BadRequest(str(errors))
    return loaded


def _aware(text: str) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        raise BadRequest("Naive datetime is disallowed", title="Invalid datetime format")
    return value


def schema_error(message: str) -> BadRequest:
    return BadRequest(str({"_schema": [message]}))


# --- clearTaskInstances -----------------------------------------------------------------------------

CLEAR_FIELDS = ("dry_run", "start_date", "end_date", "only_failed", "only_running", "include_subdags",
                "include_parentdag", "reset_dag_runs", "task_ids", "dag_run_id", "include_upstream",
                "include_downstream", "include_future", "include_past")


def load_clear_form(body: Mapping[str, Any]) -> dict[str, Any]:
    form = load_form(body, CLEAR_FIELDS, datetimes=("start_date", "end_date"))
    start, end, run_id = form.get("start_date"), form.get("end_date"), form.get("dag_run_id")
    if form.get("only_failed", True) and form.get("only_running", False):
        raise schema_error("only_failed and only_running both are set to True")
    if start and end and start > end:
        raise schema_error("end_date is sooner than start_date")
    if start and end and run_id:
        raise schema_error("Exactly one of dag_run_id or (start_date and end_date) must be provided")
    if start and run_id:
        raise schema_error("Exactly one of dag_run_id or start_date must be provided")
    if end and run_id:
        raise schema_error("Exactly one of dag_run_id or end_date must be provided")
    return form


def clear_selection(state: State, dag: Dag, *, start: datetime | None, end: datetime | None,
                    task_ids: set[str] | None, only_failed: bool, only_running: bool,
                    exclude: frozenset[str] = frozenset()) -> list[TaskInstance]:
    """`DAG.clear(dry_run=True)`: the DAG's TIs whose run's logical date is in [start, end]."""
    rows = []
    for run in state.runs_by_dag.get(dag.dag_id, {}).values():
        if (start is not None and run.logical_date < start) or (end is not None and run.logical_date > end):
            continue
        for ti in run_tis(state, run):
            if task_ids is not None and ti.task_id not in task_ids:
                continue
            if ti.task_id in exclude:
                continue
            if only_failed and ti.state not in FAILED:
                continue
            if only_running and ti.state != "running":
                continue
            rows.append(ti)
    return sorted_for_clear(rows)


def clear_from_form(state: State, dag_id: str, body: Mapping[str, Any], now: datetime) -> JSON:
    form = load_clear_form(body)
    dag = state.dags.get(dag_id)
    if dag is None:
        raise NotFound(None, title=f"Dag id {dag_id} not found")
    start, end = form.get("start_date"), form.get("end_date")
    run_id = form.get("dag_run_id")
    if run_id is not None:
        run = state.dag_runs.get((dag_id, run_id))
        if run is None:
            raise NotFound(None, title=f"Dag Run id {run_id} not found in dag {dag_id}")
        start = end = run.logical_date
    if form.get("include_past"):
        start = None
    if form.get("include_future"):
        end = None
    task_ids: set[str] | None = None
    if form.get("task_ids") is not None:
        task_ids = set()
        for task_id in form["task_ids"]:
            if task_id in dag.tasks:
                task_ids |= relatives(dag, task_id, upstream=bool(form.get("include_upstream")),
                                      downstream=bool(form.get("include_downstream")))
            else:
                task_ids.add(task_id)

    def selection() -> list[TaskInstance]:
        return clear_selection(state, dag, start=start, end=end, task_ids=task_ids,
                               only_failed=form.get("only_failed", True), only_running=form.get("only_running", False))

    chosen = selection()
    if not form.get("dry_run", True):
        clear_task_instances(state, chosen, reset_runs=bool(form.get("reset_dag_runs")), now=now)
        chosen = selection()  # the real server answers by running its query again, after the change
    return references(state, chosen)


# --- updateTaskInstancesState and PATCH of one task instance ---------------------------------------

SET_STATE_FIELDS = ("dry_run", "task_id", "execution_date", "dag_run_id", "include_upstream", "include_downstream",
                    "include_future", "include_past", "new_state")
SET_STATE_REQUIRED = ("task_id", "include_upstream", "include_downstream", "include_future", "include_past",
                      "new_state")


def set_state_from_form(state: State, dag_id: str, body: Mapping[str, Any], now: datetime) -> JSON:
    form = load_form(body, SET_STATE_FIELDS, required=SET_STATE_REQUIRED, datetimes=("execution_date",))
    if (form.get("execution_date") is None) == (form.get("dag_run_id") is None):
        raise schema_error("Exactly one of execution_date or dag_run_id must be provided")
    if "dry_run" not in form:  # the real server crashes (KeyError, 500 HTML); docs/differences.md
        raise BadRequest(str({"dry_run": [MISSING]}))
    dag = state.dags.get(dag_id)
    if dag is None:
        raise NotFound(None, title=f"Dag ID {dag_id} not found")
    task_id = form["task_id"]
    if task_id not in dag.tasks:
        raise NotFound(None, title=f"Task ID {task_id} not found")
    run = _run_for_form(state, dag, task_id, form)
    altered = set_task_state(state, dag, run, task_id, form["new_state"], upstream=form["include_upstream"],
                             downstream=form["include_downstream"], future=form["include_future"],
                             past=form["include_past"], commit=not form["dry_run"], now=now)
    return references(state, altered)


def _run_for_form(state: State, dag: Dag, task_id: str, form: Mapping[str, Any]) -> DagRun:
    when = form.get("execution_date")
    if when is not None:
        run = next((r for r in state.runs_by_dag.get(dag.dag_id, {}).values() if r.logical_date == when), None)
        if run is None or not any(t == task_id for t, _ in state.tis_by_run.get((dag.dag_id, run.dag_run_id), {})):
            raise NotFound(f"Task instance not found for task {task_id!r} on execution_date {when}")
        return run
    run_id = form["dag_run_id"]
    found = state.dag_runs.get((dag.dag_id, run_id))
    if found is None or (task_id, -1) not in state.tis_by_run.get((dag.dag_id, run_id), {}):
        raise NotFound(f"Task instance not found for task {task_id!r} on DAG run with ID {run_id!r}")
    return found


def run_range(state: State, dag: Dag, run: DagRun, *, past: bool, future: bool) -> list[DagRun]:
    """mark_tasks' `get_run_ids`: the run itself, widened to earlier/later runs; for periodic
    schedules only the runs whose logical dates the schedule produces count."""
    if not past and not future:
        return [run]
    runs = sorted(state.runs_by_dag.get(dag.dag_id, {}).values(), key=lambda r: r.logical_date)
    start = runs[0].logical_date if past else run.logical_date
    end = runs[-1].logical_date if future else run.logical_date
    schedule_kind = kind(dag.schedule_interval)
    if schedule_kind == "once":
        return [run]
    chosen = [r for r in runs if start <= r.logical_date <= end]
    if schedule_kind == "periodic":
        chosen = [r for r in chosen if r.logical_date == start
                  or on_schedule(dag.schedule_interval, r.logical_date, start)]
    return chosen


def set_task_state(state: State, dag: Dag, run: DagRun, task_id: str, new_state: str, *, upstream: bool = False,
                   downstream: bool = False, future: bool = False, past: bool = False, commit: bool,
                   now: datetime, map_index: int | None = None) -> list[TaskInstance]:
    """`DAG.set_task_instance_state`: the TIs that change (or would), then failed TIs downstream
    of the task are cleared so they can run again."""
    task_ids = relatives(dag, task_id, upstream=upstream, downstream=downstream)
    altered = []
    for chosen in run_range(state, dag, run, past=past, future=future):
        for ti in run_tis(state, chosen):
            if ti.task_id not in task_ids or ti.state == new_state:
                continue
            if map_index is not None and ti.task_id == task_id and ti.map_index != map_index:
                continue
            altered.append(ti)
    altered = sorted_for_clear(altered)
    if not commit:
        return altered
    for ti in altered:
        mark(state, ti, new_state, now)
    below = relatives(dag, task_id, upstream=False, downstream=True)
    failed_below = clear_selection(state, dag, start=None if past else run.logical_date,
                                   end=None if future else run.logical_date, task_ids=below, only_failed=True,
                                   only_running=False, exclude=frozenset({task_id}))
    clear_task_instances(state, failed_below, reset_runs=True, now=now)
    return altered


def patch_one(state: State, dag_id: str, run_id: str, task_id: str, map_index: int, body: Mapping[str, Any],
              now: datetime) -> JSON:
    """PATCH .../taskInstances/{task_id}[/{map_index}]: dry run -> the reference; real -> `{}`."""
    form = load_form(body, ("dry_run", "new_state"), required=("new_state",))
    if "dry_run" not in form:  # the real server crashes (KeyError, 500 HTML); docs/differences.md
        raise BadRequest(str({"dry_run": [MISSING]}))
    dag = state.dags.get(dag_id)
    if dag is None:
        raise NotFound(f"DAG {dag_id!r} not found", title="DAG not found")
    if task_id not in dag.tasks:
        raise NotFound(f"Task {task_id!r} not found in DAG {dag_id!r}", title="Task not found")
    ti = state.tis_by_run.get((dag_id, run_id), {}).get((task_id, map_index))
    run = state.dag_runs.get((dag_id, run_id))
    if ti is None or run is None:
        raise NotFound(f"Task instance not found for task {task_id!r} on DAG run with ID {run_id!r}")
    if form["dry_run"]:
        return reference_to_wire(state, ti)
    set_task_state(state, dag, run, task_id, form["new_state"], commit=True, now=now, map_index=map_index)
    return {}  # Airflow dumps the list of changed TIs with a single-object schema
