"""Writing a live `State` as a fixture set, in the format `load_fixture_sets` reads back.

Objects go out in their API wire shapes (through the store modules' `*_to_wire` functions), plus
what a fixture may carry beyond the API: passwords, unmasked connection extras, `x-mockflow`.
Loading the written set gives an equal `State`. Two things are renumbered on the way: row ids
that the API never shows (runs, task instances) restart from 1 in creation order, which keeps
every order the API gives.

Echoed fields (those a store record keeps only as loaded, in `Dag.wire` and `Task.wire`) are
written exactly as they were read, so that a round trip does not add defaults to them.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from mockflow.api.shapes.connections import connection_item_to_wire
from mockflow.api.shapes.dag_runs import dag_run_to_wire
from mockflow.api.shapes.dags import dag_details_to_wire, dag_to_wire
from mockflow.api.shapes.datasets import dataset_event_to_wire, dataset_to_wire
from mockflow.api.shapes.meta import dag_warning_to_wire, event_log_to_wire, import_error_to_wire
from mockflow.api.shapes.pools import pool_to_wire
from mockflow.api.shapes.security import role_to_wire, user_to_wire
from mockflow.api.shapes.task_instances import ti_to_wire
from mockflow.api.shapes.variables import variable_to_wire
from mockflow.store.pools import all_slot_usage
from mockflow.store.records import Dag, LogChunk, Task, TaskInstance, XCom
from mockflow.store.state import JSON, State
from mockflow.wire import iso, python_repr

if TYPE_CHECKING:
    import yaml

TiKey = tuple[str, str, str, int]
# DAG fields a `Dag` record holds in typed attributes (the rest is echoed from `Dag.wire`).
_TYPED_DAG_FIELDS = ("dag_id", "root_dag_id", "is_paused", "is_active", "is_subdag", "fileloc", "owners",
                     "description", "schedule_interval", "timetable_description", "tags", "max_active_tasks",
                     "max_active_runs", "start_date", "end_date")


def export_state(state: State, directory: str | Path, fmt: str = "yaml") -> dict[str, int]:
    """Writes `state` into `directory` (created if needed); returns how many objects of each kind."""
    if fmt not in ("yaml", "json"):
        raise ValueError(f"unknown format {fmt!r}")
    root = Path(directory)
    (root / "dags").mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for name, rows in small_files(state).items():
        if rows:
            write(root / name, rows, fmt)
            counts[name] = len(rows) if isinstance(rows, list) else 1
    xcoms = _by_task_instance(state.xcoms.values())
    logs = _by_task_instance(state.logs.values())
    for dag in state.dags.values():
        write(root / "dags" / dag.dag_id, dag_file(state, dag, xcoms, logs), fmt, compact=True)
    counts["dags"] = len(state.dags)
    return counts


def small_files(state: State) -> dict[str, Any]:
    usage = all_slot_usage(state)
    return {
        "version": dict(state.version),
        "config": dict(state.config),
        "plugins": [dict(row) for row in state.plugins],
        "providers": [dict(row) for row in state.providers],
        "permissions": [{"name": action} for action in state.actions],
        "roles": [role_to_wire(role) for role in state.roles.values()],
        "users": [_user(state, key) for key in state.users],
        "pools": [pool_to_wire(state, pool, usage) for pool in state.pools.values()],
        "variables": [variable_to_wire(variable) for variable in state.variables.values()],
        "connections": [{**connection_item_to_wire(conn), "extra": conn.extra,
                         **({"password": conn.password} if conn.password is not None else {})}
                        for conn in state.connections.values()],
        "import_errors": [import_error_to_wire(row) for row in state.import_errors.values()],
        "dag_warnings": [dag_warning_to_wire(row) for row in state.dag_warnings],
        "event_logs": [event_log_to_wire(row) for row in state.event_logs.values()],
        "datasets": [dataset_to_wire(dataset) for dataset in state.datasets.values()],
        "dataset_events": [dataset_event_to_wire(state, event) for event in state.dataset_events.values()],
    }


def _user(state: State, key: str) -> JSON:
    user = state.users[key]
    wire = user_to_wire(user)
    return {**wire, "password": user.password} if user.password is not None else wire


# --- DAG files --------------------------------------------------------------------------------------

def dag_file(state: State, dag: Dag, xcoms: dict[TiKey, list[Any]], logs: dict[TiKey, list[Any]]) -> JSON:
    api = {**dag_to_wire(state, dag), **dag_details_to_wire(dag)}
    wire: JSON = {name: api[name] for name in _TYPED_DAG_FIELDS if name in api}
    wire["start_date"], wire["end_date"] = iso(dag.start_date), iso(dag.end_date)
    wire["has_import_errors"] = dag.has_import_errors  # as loaded: import errors add to it when served
    wire.update(dag.wire)
    wire["tasks"] = [_task(task) for task in dag.tasks.values()]
    if dag.source is not None:
        wire["source"] = dag.source
    mock: JSON = {}
    if dag.dataset_triggers:
        mock["dataset_triggers"] = list(dag.dataset_triggers)
    if dag.stored_tag_order is not None:
        mock["stored_tag_order"] = list(dag.stored_tag_order)
    mock.update(dag.script)
    if mock:
        wire["x-mockflow"] = mock
    runs = state.runs_by_dag.get(dag.dag_id, {})
    wire["dag_runs"] = [{**dag_run_to_wire(run), "task_instances": [
        _task_instance(state, ti, xcoms, logs) for ti in state.tis_by_run.get((dag.dag_id, run_id), {}).values()
    ]} for run_id, run in runs.items()]
    return wire


def _task(task: Task) -> JSON:
    wire = dict(task.wire)  # tasks never change after loading: the fixture's own fields, as read
    mock: JSON = {}
    if task.map_length is not None:
        mock["map_length"] = task.map_length
    if task.extra_links:
        mock["extra_links"] = list(task.extra_links)
    if task.outlets:
        mock["outlets"] = list(task.outlets)
    mock.update(task.script)
    class_ref = wire.get("class_ref") or {}
    if task.operator_class != (class_ref.get("class_name") or wire.get("operator_name") or "BaseOperator"):
        mock["operator"] = task.operator_class
    if mock:
        wire["x-mockflow"] = mock
    return wire


def _task_instance(state: State, ti: TaskInstance, xcoms: dict[TiKey, list[Any]],
                   logs: dict[TiKey, list[Any]]) -> JSON:
    wire = ti_to_wire(state, ti)
    key = (ti.dag_id, ti.dag_run_id, ti.task_id, ti.map_index)
    if key in xcoms:
        wire["xcom_entries"] = [{"key": x.key, "timestamp": iso(x.timestamp), "execution_date": wire["execution_date"],
                                 "task_id": x.task_id, "dag_id": x.dag_id, "value": _xcom_value(x.value)}
                                for x in xcoms[key]]
    if key in logs:
        wire["logs"] = [{"try_number": log.try_number, "content": log.content}
                        for log in sorted(logs[key], key=lambda log: log.try_number)]
    return wire


def _xcom_value(value: Any) -> str | None:
    # A fixture holds the string the API shows: a value a script pushed (any JSON) is written as that
    # string, or the state exported could not be put back, and a deep one would outgrow the file limit.
    return None if value is None else python_repr(value)


def _by_task_instance(rows: Iterable[XCom | LogChunk]) -> dict[TiKey, list[Any]]:
    """One pass over a table, grouped by task instance (a per-instance search would be quadratic)."""
    grouped: dict[TiKey, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[(row.dag_id, row.dag_run_id, row.task_id, row.map_index)].append(row)
    return grouped


# --- files ------------------------------------------------------------------------------------------

@functools.cache
def _dumper() -> type[yaml.SafeDumper]:
    """Block style, with multi-line text (DAG sources, logs) as literal blocks. Made on first use:
    the control API imports this module, and a start should not pay for PyYAML."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(str, _text)
    return Dumper


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and not any(line != line.rstrip() for line in value.splitlines()) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def write(path: Path, data: Any, fmt: str, compact: bool = False) -> None:
    """Writes `path` plus the format's suffix; appended, not substituted: a subdag's id
    (`parent.child`) would otherwise lose `.child` and overwrite its parent's file."""
    target = path.with_name(f"{path.name}.{fmt}")
    if fmt == "yaml":
        import yaml

        text = yaml.dump(data, Dumper=_dumper(), sort_keys=False, allow_unicode=True, width=120)
        target.write_text(text, encoding="utf-8")
    else:
        target.write_bytes(orjson.dumps(data, option=0 if compact else orjson.OPT_INDENT_2))
