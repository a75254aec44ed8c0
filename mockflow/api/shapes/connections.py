"""The connection objects: never the password, and `extra` masked the way Airflow masks secrets."""

from __future__ import annotations

import json
from typing import Any

from mockflow.store.connections import ConnectionCheck
from mockflow.store.records import Connection
from mockflow.store.secrets import is_sensitive
from mockflow.store.state import JSON

REDACT_DEPTH = 5  # the secrets masker stops descending below this depth


def connection_item_to_wire(conn: Connection) -> JSON:
    return {
        "connection_id": conn.connection_id,
        "conn_type": conn.conn_type,
        "description": conn.description,
        "host": conn.host,
        "login": conn.login,
        "schema": conn.schema,
        "port": conn.port,
    }


def connection_to_wire(conn: Connection) -> JSON:
    """The single object: the list item plus `extra`; the password is write-only."""
    return {**connection_item_to_wire(conn), "extra": masked_extra(conn.extra)}


def connection_check_to_wire(check: ConnectionCheck) -> JSON:
    return {"status": check.status, "message": check.message}


def masked_extra(extra: str | None) -> str | None:
    """JSON extras are re-serialised with the values of sensitive keys hidden; other text as-is."""
    if extra is None:
        return None
    try:
        parsed = json.loads(extra)
    except ValueError:
        return extra
    return json.dumps(_redact(parsed, None, 0))


def _redact(item: Any, name: str | None, depth: int) -> Any:
    if depth > REDACT_DEPTH:
        return item
    if name is not None and is_sensitive(name):
        return _redact_all(item, depth)
    if isinstance(item, dict):
        return {key: _redact(value, key, depth + 1) for key, value in item.items()}
    if isinstance(item, list):
        return [_redact(value, name, depth + 1) for value in item]
    return item


def _redact_all(item: Any, depth: int) -> Any:
    # Strings become ***; numbers, booleans and nulls under a sensitive key are left alone.
    if depth > REDACT_DEPTH or isinstance(item, str):
        return "***"
    if isinstance(item, dict):
        return {key: _redact_all(value, depth + 1) for key, value in item.items()}
    if isinstance(item, list):
        return [_redact_all(value, depth + 1) for value in item]
    return item
