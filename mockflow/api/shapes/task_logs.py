"""Task logs and extra links as the v1 API answers them: text or JSON log bodies with signed
continuation tokens, and the UI links of a task instance.

A continuation token is the URL-safe base64 of the reader's metadata (JSON) and a short HMAC of
it, keyed per process from the seeded random source: opaque to clients, and anything else is
refused with Airflow's "Bad Signature" 400."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import re
from typing import Any
from urllib.parse import quote

from mockflow.store.errors import InvalidInputError
from mockflow.store.records import Dag, Task, TaskInstance
from mockflow.store.state import JSON, State
from mockflow.wire import iso

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


def as_text(logs: list[tuple[str, str]]) -> str:
    """The text/plain stream: each part as host, newline, text, newline."""
    return "".join("\n".join([host or "", text]) + "\n" for host, text in logs)


def as_json(logs: list[tuple[str, str]], metadata: JSON, source: random.Random) -> JSON:
    # `content` is the str() of a list of tuples on the real server
    return {"content": str(logs), "continuation_token": sign(metadata, source)}


# --- extra links ---------------------------------------------------------------------------------

_LINK_NAMES = {"TriggerDagRunLink": "Triggered DAG", "ExternalDagLink": "External DAG"}


def extra_links_to_wire(state: State, dag: Dag, task: Task, ti: TaskInstance) -> JSON:
    """The links Airflow's UI would show for this task instance, by name (None: not resolvable)."""
    names = list(task.extra_links) or [_LINK_NAMES.get(str(ref.get("class_name")), str(ref.get("class_name")))
                                       for ref in task.wire.get("extra_links") or [] if isinstance(ref, dict)]
    return {name: _link_url(state, dag.source or "", ti, name) for name in sorted(names)}


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


