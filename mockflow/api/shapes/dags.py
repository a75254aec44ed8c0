"""The DAG, DAG-details and task objects of the v1 API.

A DAG's object is a pure function of its record's fields (and, for `has_import_errors`, of the
import errors, read each time). Lists show the same DAGs request after request, so the record's
part is kept per record with a snapshot of the fields it was made from, and is reused only while
the record still holds equal values: any write (through the store, its undo log, a state import,
a thaw, or straight to the record, in-place changes to its lists included) is seen at the next
read. DAG and details objects are `Frozen` dicts shared by every answer that shows them (so
they are printed by copying the texts they keep, `mockflow/rendering.py`); their values are
shared too, and never changed.
"""

from __future__ import annotations

import copy
import functools
import operator
from collections.abc import Callable, Iterable
from typing import Any

from mockflow.rendering import Frozen
from mockflow.store.dags import file_token, files_with_import_errors, has_import_errors, stored_tags
from mockflow.store.records import Dag, Task
from mockflow.store.state import JSON, State
from mockflow.wire import iso, parse_datetime

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
        if name in _DATETIME_FIELDS:
            value = _wire_datetime(value) if isinstance(value, str) else iso(parse_datetime(value))
        out[name] = value
    return out


@functools.lru_cache(maxsize=65_536)
def _wire_datetime(text: str) -> str | None:
    # A pure function of the fixture's text: parsed and printed once, not per DAG per request.
    return iso(parse_datetime(text))


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


# The fields each object is made of (every one its builder below reads).
_SHARED_INPUTS = ("dag_id", "is_paused", "is_active", "is_subdag", "fileloc", "owners", "description",
                  "schedule_interval", "tags", "max_active_tasks", "max_active_runs", "wire")
_DAG_INPUTS = operator.attrgetter(*_SHARED_INPUTS, "stored_tag_order", "root_dag_id", "timetable_description")
_DETAILS_INPUTS = operator.attrgetter(*_SHARED_INPUTS, "start_date", "end_date")
_MEMO_KEPT = 16_384  # records remembered per shape; past that the memo starts afresh


class _Memo:
    """The wire part of each record, by `id(record)`, with a deep snapshot of its inputs: a hit
    needs equal inputs, so neither a changed record nor a new one at a reused id is served stale."""

    def __init__(self, inputs: Callable[[Dag], tuple[Any, ...]], build: Callable[[Dag], JSON]) -> None:
        self._inputs, self._build = inputs, build
        self._entries: dict[int, tuple[tuple[Any, ...], _Built]] = {}

    def __call__(self, dag: Dag) -> _Built:
        return self.many((dag,))[0]

    def many(self, dags: Iterable[Dag]) -> list[_Built]:
        """`[memo(dag) for dag in dags]`, in one loop (a page asks for 25 at once)."""
        inputs_of, entries, built = self._inputs, self._entries, []
        for dag in dags:
            inputs = inputs_of(dag)
            entry = entries.get(id(dag))
            if entry is None or entry[0] != inputs:
                entry = self._build_entry(dag, inputs)
            built.append(entry[1])
        return built

    def _build_entry(self, dag: Dag, inputs: tuple[Any, ...]) -> tuple[tuple[Any, ...], _Built]:
        if len(self._entries) >= _MEMO_KEPT:
            self._entries.clear()
        entry = self._entries[id(dag)] = (copy.deepcopy(inputs), _Built(self._build(dag)))
        return entry


class _Built:
    """A record's part, and the finished objects made from it: the DAG object one per
    `has_import_errors` value, the details object as it is."""

    __slots__ = ("finished", "part")

    def __init__(self, part: JSON) -> None:
        self.part = part
        self.finished: dict[bool | None, Frozen] = {}

    def with_import_errors(self, errors: bool) -> Frozen:
        found = self.finished.get(errors)
        if found is None:
            found = self.finished[errors] = Frozen({**self.part, "has_import_errors": errors})
        return found

    def as_it_is(self) -> Frozen:
        found = self.finished.get(None)
        if found is None:
            found = self.finished[None] = Frozen(self.part)
        return found


def _dag_part(dag: Dag) -> JSON:
    return {
        **_shared_fields(dag, stored_tags(dag)),
        "root_dag_id": dag.root_dag_id,
        "timetable_description": dag.timetable_description,
        "has_import_errors": None,  # its place in the object; filled per read
        **_echoed(dag, _DAG_ECHOED),
    }


def _details(dag: Dag) -> JSON:
    return {
        **_shared_fields(dag, dag.tags),
        "concurrency": dag.max_active_tasks,
        "start_date": iso(dag.start_date),
        "end_date": iso(dag.end_date),
        **_echoed(dag, _DETAILS_ECHOED),
    }


_dag_memo = _Memo(_DAG_INPUTS, _dag_part)
_details_memo = _Memo(_DETAILS_INPUTS, _details)


def dag_to_wire(state: State, dag: Dag) -> JSON:
    """The DAG object of `GET /dags`, `GET /dags/{dag_id}` and the PATCH answers."""
    return _dag_memo(dag).with_import_errors(has_import_errors(state, dag))


def dags_to_wire(state: State, dags: Iterable[Dag]) -> list[JSON]:
    """A page of DAG objects: the files with import errors are looked up once for the page."""
    failing = files_with_import_errors(state)
    shown = list(dags)
    return [built.with_import_errors(dag.has_import_errors or dag.fileloc in failing)
            for dag, built in zip(shown, _dag_memo.many(shown), strict=True)]


def dag_details_to_wire(dag: Dag) -> JSON:
    """`GET /dags/{dag_id}/details`: built from the parsed DAG on the real server, so it lacks
    `root_dag_id`, `timetable_description`, the `next_dagrun*` fields and a few more that the
    spec lists, and has `concurrency` (= max_active_tasks) and a repr string for `timezone`."""
    return _details_memo(dag).as_it_is()


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
