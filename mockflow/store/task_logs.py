"""Task logs (as the file task handler serves them) with signed continuation tokens, and extra links.

A continuation token is the URL-safe base64 of the reader's metadata (JSON) and a short HMAC of it,
keyed per process from the seeded random source: opaque to clients, and anything else is refused
with Airflow's "Bad Signature" 400.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import re
from typing import Any
from urllib.parse import quote

from mockflow.store.errors import InvalidInputError, NotFoundError
from mockflow.store.records import LogChunk, TaskInstance
from mockflow.store.state import JSON, State
from mockflow.wire import iso

LOG_ROOT = "/opt/airflow/logs"
WORKER_PORT = 8793

_key: bytes | None = None


def _signing_key(source: random.Random) -> bytes:
    global _key
    if _key is None:
        _key = source.getrandbits(256).to_bytes(32, "big")
    return _key


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def sign(metadata: JSON, source: random.Random) -> str:
    payload = _b64(json.dumps(metadata, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(_signing_key(source), payload.encode(), hashlib.sha256).digest()[:20]
    return f"{payload}.{_b64(mac)}"


def verify(token: str, source: random.Random) -> JSON:
    payload, _, signature = token.partition(".")
    expected = _b64(hmac.new(_signing_key(source), payload.encode(), hashlib.sha256).digest()[:20])
    if not signature or not hmac.compare_digest(signature, expected):
        raise InvalidInputError("log_token_bad_signature")
    try:
        metadata = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        raise InvalidInputError("log_token_bad_signature") from None
    if not isinstance(metadata, dict):
        raise InvalidInputError("log_token_bad_signature")
    return metadata


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


def as_text(logs: list[tuple[str, str]]) -> str:
    """The text/plain stream: each part as host, newline, text, newline."""
    return "".join("\n".join([host or "", text]) + "\n" for host, text in logs)


def as_json(logs: list[tuple[str, str]], metadata: JSON, source: random.Random) -> JSON:
    # `content` is the str() of a list of tuples on the real server
    return {"content": str(logs), "continuation_token": sign(metadata, source)}


# --- extra links ---------------------------------------------------------------------------------

_LINK_NAMES = {"TriggerDagRunLink": "Triggered DAG", "ExternalDagLink": "External DAG"}


def extra_links(state: State, dag_id: str, run_id: str, task_id: str) -> JSON:
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
    names = list(task.extra_links) or [_LINK_NAMES.get(str(ref.get("class_name")), str(ref.get("class_name")))
                                       for ref in task.wire.get("extra_links") or [] if isinstance(ref, dict)]
    return {name: _link_url(state, dag.source or "", found[0], name) for name in sorted(names)}


def _link_url(state: State, source: str, ti: TaskInstance, name: str) -> str | None:
    if name == "Triggered DAG":
        target = _argument(source, "trigger_dag_id")
        if target is None:
            return None
        when = state.xcoms.get((ti.dag_id, ti.dag_run_id, ti.task_id, ti.map_index, "trigger_execution_date_iso"))
        query = f"?base_date={quote(str(when.value), safe='')}" if when is not None else ""
        return f"/dags/{target}/grid{query}"
    if name == "External DAG":
        target = _argument(source, "external_dag_id")
        run = state.dag_runs.get((ti.dag_id, ti.dag_run_id))
        if target is None or run is None:
            return None
        return f"/dags/{target}/grid?execution_date={quote(iso(run.logical_date) or '', safe='')}"
    return None


def _argument(source: str, name: str) -> str | None:
    match = re.search(rf"{name}\s*=\s*[\"']([^\"']+)[\"']", source)
    return match.group(1) if match else None


def metadata_from(token: str | None, full_content: bool | None, source: random.Random) -> dict[str, Any]:
    metadata: dict[str, Any] = verify(token, source) if token else {}
    if metadata.get("download_logs"):
        full_content = True
    metadata["download_logs"] = bool(full_content)
    return metadata


# --- writing -------------------------------------------------------------------------------------

def write_log(state: State, ti: TaskInstance, try_number: int, text: str, *, append: bool = False) -> LogChunk:
    """The log file of one try: written anew, or `text` added at its end."""
    key = (ti.dag_id, ti.dag_run_id, ti.task_id, ti.map_index, try_number)
    old = state.logs.get(key)
    content = (old.content if old is not None and append else "") + text
    chunk = LogChunk(ti.dag_id, ti.dag_run_id, ti.task_id, ti.map_index, try_number, content)
    state.changes.put(state.logs, key, chunk)
    return chunk
