"""Task logs as the file task handler keeps them (reading a try's chunk, writing a try's log), and
the task instance whose extra links are asked for. Their wire shapes, continuation tokens
included, are the v1 bundle's (`api/shapes/task_logs.py`)."""

from __future__ import annotations

from mockflow.store.errors import InvalidInputError, NotFoundError
from mockflow.store.records import Dag, LogChunk, Task, TaskInstance
from mockflow.store.state import JSON, State

LOG_ROOT = "/opt/airflow/logs"
WORKER_PORT = 8793


def find_ti(state: State, dag_id: str, run_id: str, task_id: str, map_index: int) -> TaskInstance:
    ti = state.task_instances.of_run(dag_id, run_id).get((task_id, map_index))
    if ti is None:
        raise NotFoundError("task_instance_not_found", dag_id=dag_id, dag_run_id=run_id, task_id=task_id,
                            map_index=map_index)
    return ti


def _relative_path(ti: TaskInstance, try_number: int) -> str:
    mapped = f"map_index={ti.map_index}/" if ti.map_index >= 0 else ""
    return f"dag_id={ti.dag_id}/run_id={ti.dag_run_id}/task_id={ti.task_id}/{mapped}attempt={try_number}.log"


def read_chunk(state: State, ti: TaskInstance, try_number: int, metadata: JSON) -> tuple[list[tuple[str, str]], JSON]:
    """`FileTaskHandler.read` for one try: [(host, text)] and the metadata for the next call."""
    if try_number < 1:
        return [("default_host", f"Error fetching the logs. Try number {try_number} is invalid.")], {
            "end_of_log": True}
    path = f"{LOG_ROOT}/{_relative_path(ti, try_number)}"
    chunk = state.logs.get((ti.dag_id, ti.dag_run_id, ti.task_id, ti.map_index, try_number))
    if chunk is None:
        return [(ti.hostname, _missing_text(ti, path, try_number))], {"end_of_log": True}
    text = f"*** Reading local file: {path}\n{chunk.content}"
    end_of_log = ti.try_number != try_number or ti.state not in ("running", "deferred")
    position = metadata.get("log_pos")
    shown = text[position:] if isinstance(position, int) and position >= 0 else text
    return [(ti.hostname, shown)], {"end_of_log": end_of_log, "log_pos": len(text)}


def _missing_text(ti: TaskInstance, path: str, try_number: int) -> str:
    url = f"http://{ti.hostname}:{WORKER_PORT}/log/{_relative_path(ti, try_number)}"
    reason = ("Request URL is missing an 'http://' or 'https://' protocol." if not ti.hostname
              else f"Client error '404 NOT FOUND' for url '{url}'")
    return (f"*** Log file does not exist: {path}\n*** Fetching from: {url}\n"
            f"*** Failed to fetch log file from worker. {reason}\n")


# --- extra links ---------------------------------------------------------------------------------

def link_task_instance(state: State, dag_id: str, run_id: str, task_id: str) -> tuple[Dag, Task, TaskInstance]:
    """The DAG, task and task instance whose extra links are asked for, with the real server's checks."""
    dag = state.dags.get(dag_id)
    if dag is None:
        raise NotFoundError("dag_not_found", dag_id=dag_id)
    task = dag.tasks.get(task_id)
    if task is None:
        raise NotFoundError("task_not_found", dag_id=dag_id, task_id=task_id)
    found = [ti for (tid, _), ti in state.task_instances.of_run(dag_id, run_id).items() if tid == task_id]
    if not found:
        raise NotFoundError("dag_run_not_found", dag_id=dag_id, dag_run_id=run_id)
    if len(found) > 1:  # the real server crashes (MultipleResultsFound, 500 HTML); docs/differences.md
        raise InvalidInputError("task_mapped_extra_links", dag_id=dag_id, task_id=task_id, count=len(found))
    return dag, task, found[0]


# --- writing -------------------------------------------------------------------------------------

def write_log(state: State, ti: TaskInstance, try_number: int, text: str, *, append: bool = False) -> LogChunk:
    """The log file of one try: written anew, or `text` added at its end."""
    key = (ti.dag_id, ti.dag_run_id, ti.task_id, ti.map_index, try_number)
    old = state.logs.get(key)
    content = (old.content if old is not None and append else "") + text
    chunk = LogChunk(ti.dag_id, ti.dag_run_id, ti.task_id, ti.map_index, try_number, content)
    state.changes.put(state.logs, key, chunk)
    return chunk
