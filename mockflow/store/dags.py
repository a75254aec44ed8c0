"""DAGs and their tasks: wire shapes, file tokens, selection, pausing, deletion and task ordering.
Reading DAG fixture files lives in `store/dag_files.py`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from mockflow.store import ti_index
from mockflow.store.datasets import forget_dags
from mockflow.store.errors import ConflictError, NotFoundError
from mockflow.store.records import Dag, Task, TaskInstance
from mockflow.store.state import JSON, State
from mockflow.wire import iso, parse_datetime

K = TypeVar("K")

# --- file tokens ----------------------------------------------------------------------------------
# Airflow signs `fileloc` with its secret key (itsdangerous). mockflow's token is the URL-safe
# base64 of `fileloc` and a keyed hash of it: opaque to clients, stable across restarts, and any
# change to it is detected. A token recorded from a real server (a fixture's `file_token`) is
# accepted too, for the DAG that carries it.

_TOKEN_KEY = b"mockflow/dagSources/file_token"


def file_token(fileloc: str) -> str:
    payload = base64.urlsafe_b64encode(fileloc.encode()).rstrip(b"=").decode()
    return f"{payload}.{_signature(fileloc)}"


def _signature(fileloc: str) -> str:
    digest = hmac.new(_TOKEN_KEY, fileloc.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


def fileloc_of_token(state: State, token: str) -> str | None:
    """The file a token names, or None when it is not a token mockflow (or a fixture) handed out."""
    payload, _, signature = token.rpartition(".")
    try:
        fileloc = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        fileloc = None
    if fileloc is not None and hmac.compare_digest(signature.encode(), _signature(fileloc).encode()):
        return fileloc
    return next((dag.fileloc for dag in state.dags.values() if dag.wire.get("file_token") == token), None)


def dag_source(state: State, fileloc: str) -> str | None:
    """The text of a DAG file (every DAG of a file shares it), or None when no DAG comes from it."""
    return next((dag.source for dag in state.dags.values() if dag.fileloc == fileloc and dag.source is not None),
                None)


# --- wire -----------------------------------------------------------------------------------------

# DAG-object fields mockflow only echoes from the fixture, with what an absent one means.
_DAG_ECHOED: JSON = {
    "last_parsed_time": None, "last_pickled": None, "last_expired": None, "scheduler_lock": None, "pickle_id": None,
    "default_view": "grid", "has_task_concurrency_limits": False, "next_dagrun": None,
    "next_dagrun_data_interval_start": None, "next_dagrun_data_interval_end": None, "next_dagrun_create_after": None,
}
# DAG-details fields likewise. `timezone` is the Python repr the real server sends.
_DETAILS_ECHOED: JSON = {
    "catchup": True, "dag_run_timeout": None, "default_view": "grid", "doc_md": None, "is_paused_upon_creation": None,
    "last_parsed": None, "orientation": "LR", "params": {}, "pickle_id": None, "render_template_as_native_obj": False,
    "timezone": "Timezone('UTC')",
}
_DATETIME_FIELDS = frozenset({
    "last_parsed_time", "last_pickled", "last_expired", "last_parsed", "next_dagrun", "next_dagrun_data_interval_start",
    "next_dagrun_data_interval_end", "next_dagrun_create_after",
})


def _echoed(dag: Dag, defaults: JSON) -> JSON:
    out: JSON = {}
    for name, default in defaults.items():
        value = dag.wire.get(name, default)
        out[name] = iso(parse_datetime(value)) if name in _DATETIME_FIELDS else value
    return out


def has_import_errors(state: State, dag: Dag) -> bool:
    """As loaded, or because an import error names the DAG's file now."""
    return dag.has_import_errors or any(error.filename == dag.fileloc for error in state.import_errors.values())


def _shared_fields(dag: Dag, tags: list[str]) -> JSON:
    """What the DAG object and the details object both carry."""
    return {
        "dag_id": dag.dag_id,
        "is_paused": dag.is_paused,
        "is_active": dag.is_active,
        "is_subdag": dag.is_subdag,
        "fileloc": dag.fileloc,
        "file_token": file_token(dag.fileloc),
        "owners": list(dag.owners),
        "description": dag.description,
        "schedule_interval": dag.schedule_interval,
        "tags": [{"name": tag} for tag in tags],
        "max_active_tasks": dag.max_active_tasks,
        "max_active_runs": dag.max_active_runs,
    }


def dag_to_wire(state: State, dag: Dag) -> JSON:
    """The DAG object of `GET /dags`, `GET /dags/{dag_id}` and the PATCH answers."""
    return {
        **_shared_fields(dag, stored_tags(dag)),
        "root_dag_id": dag.root_dag_id,
        "timetable_description": dag.timetable_description,
        "has_import_errors": has_import_errors(state, dag),
        **_echoed(dag, _DAG_ECHOED),
    }


def stored_tags(dag: Dag) -> list[str]:
    """The DAG object lists tags as the database stores them; `/details` as the DAG declares them."""
    order = dag.stored_tag_order
    if order is not None and sorted(order) == sorted(dag.tags):
        return list(order)
    return list(dag.tags)


def dag_details_to_wire(dag: Dag) -> JSON:
    """`GET /dags/{dag_id}/details`: built from the parsed DAG on the real server, so it lacks
    `root_dag_id`, `timetable_description`, the `next_dagrun*` fields and a few more that the
    spec lists, and has `concurrency` (= max_active_tasks) and a repr string for `timezone`."""
    return {
        **_shared_fields(dag, dag.tags),
        "concurrency": dag.max_active_tasks,
        "start_date": iso(dag.start_date),
        "end_date": iso(dag.end_date),
        **_echoed(dag, _DETAILS_ECHOED),
    }


_TASK_DEFAULTS: JSON = {
    "owner": "airflow", "trigger_rule": "all_success", "extra_links": [], "depends_on_past": False,
    "wait_for_downstream": False, "execution_timeout": None,
    "retry_delay": {"__type": "TimeDelta", "days": 0, "seconds": 300, "microseconds": 0},
    "retry_exponential_backoff": False, "ui_color": "#fff", "ui_fgcolor": "#000", "template_fields": [], "params": {},
}
_MODULES = {
    "BashOperator": "airflow.operators.bash", "PythonOperator": "airflow.operators.python",
    "BranchPythonOperator": "airflow.operators.python", "EmptyOperator": "airflow.operators.empty",
    "_PythonDecoratedOperator": "airflow.decorators.python", "SubDagOperator": "airflow.operators.subdag",
    "TriggerDagRunOperator": "airflow.operators.trigger_dagrun",
}


def task_to_wire(dag: Dag, task: Task) -> JSON:
    """A task as `GET /dags/{dag_id}/tasks` shows it: the counts are floats on the real server."""
    wire: JSON = {**_TASK_DEFAULTS, **task.wire}
    class_name = task.operator_class
    wire.setdefault("class_ref", {"class_name": class_name, "module_path": _MODULES.get(class_name,
                                                                                      "airflow.models.baseoperator")})
    wire.setdefault("operator_name", "@task" if class_name == "_PythonDecoratedOperator" else class_name)
    wire.update(
        task_id=task.task_id,
        downstream_task_ids=list(task.downstream_task_ids),
        pool=task.pool,
        pool_slots=float(task.pool_slots),
        queue=task.queue,
        retries=float(task.retries),
        priority_weight=float(task.priority_weight),
        weight_rule=task.weight_rule,
        start_date=iso(task.start_date or dag.start_date),
        end_date=iso(task.end_date),
        is_mapped=task.is_mapped,
    )
    wire.pop("sub_dag", None)  # never sent by the real server
    return wire


# --- selecting DAGs -----------------------------------------------------------------------------------

def like_matcher(pattern: str) -> Callable[[str], bool]:
    """SQL `ILIKE '%pattern%'`: a case-insensitive substring in which `%` and `_` stay wildcards.

    The pieces between `%`s are found one after the other, each as early as possible (which is
    exact for a pattern wrapped in `%`), so no pattern can make the match backtrack for long.
    """
    pieces = [re.compile("".join("." if c == "_" else re.escape(c) for c in piece), re.DOTALL)
              for piece in pattern.lower().split("%") if piece]

    def matches(value: str) -> bool:
        text, position = value.lower(), 0
        for piece in pieces:
            found = piece.search(text, position)
            if found is None:
                return False
            position = found.end()
        return True

    return matches


def select_dags(state: State, *, visible: Iterable[str], only_active: bool, dag_id_pattern: str | None,
                tags: Sequence[str] | None) -> list[Dag]:
    """The DAGs a list (or a bulk PATCH) works on, always by ascending dag_id; subdags never."""
    matches = like_matcher(dag_id_pattern) if dag_id_pattern else None
    wanted_tags = set(tags or ())
    rows = []
    for dag_id in visible:
        dag = state.dags[dag_id]
        if dag.is_subdag or (only_active and not dag.is_active):
            continue
        if matches is not None and not matches(dag_id):
            continue
        if wanted_tags and wanted_tags.isdisjoint(dag.tags):
            continue
        rows.append(dag)
    return sorted(rows, key=lambda dag: dag.dag_id)


# --- changing DAGs ------------------------------------------------------------------------------------

def set_paused(dags: Iterable[Dag], value: bool | None) -> None:
    for dag in dags:
        dag.is_paused = value


def delete_dag(state: State, dag_id: str) -> None:
    """Removes the DAG, its subdags and every row that carries their ids (runs, task instances,
    XComs, logs, warnings, dataset references), and the import errors of its file. Audit logs stay."""
    if any(ti.state == "running" for ti in _task_instances_of(state, dag_id)):
        raise ConflictError("dag_has_running_tasks", dag_id=dag_id)
    dag = state.dags.get(dag_id)
    if dag is None:
        raise NotFoundError("dag_not_found", dag_id=dag_id)
    doomed = {dag_id} | {other.dag_id for other in state.dags.values()
                         if other.is_subdag and other.dag_id.startswith(dag_id + ".")}
    for gone in doomed:
        _hand_over_source(state, state.dags.pop(gone))
        state.runs_by_dag.pop(gone, None)
    _drop(state.dag_runs, lambda key: key[0] in doomed)
    _drop(state.tis_by_run, lambda key: key[0] in doomed)
    _drop(state.task_instances, lambda key: key[0] in doomed)
    ti_index.rebuild(state)
    _drop(state.xcoms, lambda key: key[0] in doomed)
    _drop(state.logs, lambda key: key[0] in doomed)
    state.dag_warnings = [warning for warning in state.dag_warnings if warning.dag_id not in doomed]
    _drop(state.import_errors, lambda key: state.import_errors[key].filename == dag.fileloc)
    forget_dags(state, doomed)
    if dag.is_subdag and "." in dag_id:
        _drop_subdag_operator_runs(state, *dag_id.rsplit(".", 1))


def _hand_over_source(state: State, dag: Dag) -> None:
    """The file's text is stored per file on Airflow, not per DAG: a DAG left in the same file keeps it."""
    heir = next((other for other in state.dags.values() if other.fileloc == dag.fileloc and other.source is None),
                None)
    if dag.source is not None and heir is not None and dag_source(state, dag.fileloc) is None:
        heir.source = dag.source


def _drop_subdag_operator_runs(state: State, parent_id: str, task_id: str) -> None:
    """Deleting a subdag also deletes the parent's task instances of the SubDagOperator that runs it."""
    _drop(state.task_instances, lambda key: key[0] == parent_id and key[2] == task_id)
    for run_key, tis in state.tis_by_run.items():
        if run_key[0] == parent_id:
            _drop(tis, lambda key: key[0] == task_id)
    ti_index.rebuild(state)
    _drop(state.xcoms, lambda key: key[0] == parent_id and key[2] == task_id)
    _drop(state.logs, lambda key: key[0] == parent_id and key[2] == task_id)


def _task_instances_of(state: State, dag_id: str) -> Iterator[TaskInstance]:
    for run_id in state.runs_by_dag.get(dag_id, {}):
        yield from state.tis_by_run.get((dag_id, run_id), {}).values()


def _drop(table: dict[K, Any], doomed: Callable[[K], bool]) -> None:
    for key in [key for key in table if doomed(key)]:
        del table[key]
