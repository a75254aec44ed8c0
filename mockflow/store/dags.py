"""DAGs and their tasks: file tokens, selection, pausing and deletion.
Reading DAG fixture files lives in `fixtureset/dags.py`; the wire shapes in `api/shapes/dags.py`."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

from mockflow.store.datasets import forget_dags
from mockflow.store.errors import ConflictError, NotFoundError
from mockflow.store.records import Dag, TaskInstance
from mockflow.store.state import State

K = TypeVar("K")

# --- file tokens ----------------------------------------------------------------------------------
# Airflow signs `fileloc` with its secret key (itsdangerous). mockflow's token is the URL-safe
# base64 of `fileloc` and a keyed hash of it: opaque to clients, stable across restarts, and any
# change to it is detected. A token recorded from a real server (a fixture's `file_token`) is
# accepted too, for the DAG that carries it.

_TOKEN_KEY = b"mockflow/dagSources/file_token"


@functools.lru_cache(maxsize=65_536)
def file_token(fileloc: str) -> str:
    """A pure function of the path: cached, since every DAG object of every list carries one and
    the HMAC was a seventh of the 25-DAG page."""
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


# --- facts the wire shapes show --------------------------------------------------------------------

def has_import_errors(state: State, dag: Dag) -> bool:
    """As loaded, or because an import error names the DAG's file now."""
    return dag.has_import_errors or any(error.filename == dag.fileloc for error in state.import_errors.values())


def files_with_import_errors(state: State) -> set[str]:
    """The files the import errors name now (`has_import_errors` for many DAGs at once)."""
    return {error.filename for error in state.import_errors.values()}


def stored_tags(dag: Dag) -> list[str]:
    """The DAG object lists tags as the database stores them; `/details` as the DAG declares them."""
    order = dag.stored_tag_order
    if order is not None and sorted(order) == sorted(dag.tags):
        return list(order)
    return list(dag.tags)



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

def set_paused(state: State, dags: Iterable[Dag], value: bool | None) -> None:
    for dag in dags:
        state.changes.set(dag, is_paused=value)


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
        _hand_over_source(state, state.changes.pop(state.dags, gone))
    state.dag_runs.delete_dags(doomed)
    state.task_instances.delete_where(lambda ti: ti.dag_id in doomed)
    _drop(state, state.xcoms, lambda key: key[0] in doomed)
    _drop(state, state.logs, lambda key: key[0] in doomed)
    state.changes.set(state, dag_warnings=[warning for warning in state.dag_warnings if warning.dag_id not in doomed])
    _drop(state, state.import_errors, lambda key: state.import_errors[key].filename == dag.fileloc)
    forget_dags(state, doomed)
    if dag.is_subdag and "." in dag_id:
        _drop_subdag_operator_runs(state, *dag_id.rsplit(".", 1))


def _hand_over_source(state: State, dag: Dag) -> None:
    """The file's text is stored per file on Airflow, not per DAG: a DAG left in the same file keeps it."""
    heir = next((other for other in state.dags.values() if other.fileloc == dag.fileloc and other.source is None),
                None)
    if dag.source is not None and heir is not None and dag_source(state, dag.fileloc) is None:
        state.changes.set(heir, source=dag.source)


def _drop_subdag_operator_runs(state: State, parent_id: str, task_id: str) -> None:
    """Deleting a subdag also deletes the parent's task instances of the SubDagOperator that runs it."""
    state.task_instances.delete_where(lambda ti: ti.dag_id == parent_id and ti.task_id == task_id)
    _drop(state, state.xcoms, lambda key: key[0] == parent_id and key[2] == task_id)
    _drop(state, state.logs, lambda key: key[0] == parent_id and key[2] == task_id)


def _task_instances_of(state: State, dag_id: str) -> Iterator[TaskInstance]:
    for run in state.dag_runs.of_dag(dag_id):
        yield from state.task_instances.of_run(dag_id, run.dag_run_id).values()


def _drop(state: State, table: dict[K, Any], doomed: Callable[[K], bool]) -> None:
    for key in [key for key in table if doomed(key)]:
        state.changes.pop(table, key)
