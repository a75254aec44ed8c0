"""get_connections, get_connection, post_connection, patch_connection, delete_connection and
test_connection (rules in store/connections.py).

Bodies and update masks are checked here, the way ConnectionSchema loads them, before the store
applies them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mockflow.api.bodies import load_errors
from mockflow.api.context import NO_CONTENT, Call, Reply
from mockflow.api.shapes.connections import connection_check_to_wire, connection_item_to_wire, connection_to_wire
from mockflow.pagination import by_attributes, ordered, page
from mockflow.problems import BadRequest
from mockflow.store import connections
from mockflow.store.state import JSON

ORDER_COLUMNS = by_attributes("connection_id", "conn_type", "description", "host", "port", "id")
# ConnectionSchema's loadable fields, in declared order
LOADABLE = ("connection_id", "conn_type", "description", "host", "login", "schema", "port", "password", "extra")
REQUIRED = ("connection_id", "conn_type")
# Column lengths that marshmallow-sqlalchemy turns into `Length(max=...)` checks
MAX_LENGTHS = {"connection_id": 250, "conn_type": 500, "host": 500, "schema": 500, "login": 500}
# update_mask names are attribute names; the id is `conn_id` there and may never be updated
NOT_UPDATABLE = ("connection_id", "conn_id")


def get_connections(call: Call) -> JSON:
    rows = ordered(connections.connections_by_id(call.state), call.query.get("order_by"), ORDER_COLUMNS, "id")
    # List items omit `extra` (and, like everywhere, the password).
    return {"connections": [connection_item_to_wire(c) for c in page(rows, call.query)],
            "total_entries": len(rows)}


def get_connection(call: Call) -> JSON:
    return connection_to_wire(connections.find_connection(call.state, call.path["connection_id"]))


def post_connection(call: Call) -> JSON:
    body = call.body
    _load(body, required=REQUIRED)
    connection_id = body["connection_id"]  # "" is stored, as on the real server: only the list shows it
    conn = connections.create_connection(call.state, connection_id, body["conn_type"], _fields(body))
    return connection_to_wire(conn)


def patch_connection(call: Call) -> JSON:
    """A partial load, so only the fields sent (or masked) change; the 404 comes before the id check."""
    connection_id, body, update_mask = call.path["connection_id"], call.body, call.query.get("update_mask")
    _load(body, required=())
    connections.find_connection(call.state, connection_id)
    # Airflow skips this check for an empty id and then renames the row to "": refused here too.
    if "connection_id" in body and body["connection_id"] != connection_id:
        raise BadRequest("The connection_id cannot be updated.")
    changes = _masked_changes(body, update_mask) if update_mask else _fields(body)
    return connection_to_wire(connections.update_connection(call.state, connection_id, changes))


def delete_connection(call: Call) -> Reply:
    connections.delete_connection(call.state, call.path["connection_id"])
    return NO_CONTENT


def test_connection(call: Call) -> JSON:
    _load(call.body, required=REQUIRED)
    return connection_check_to_wire(connections.check_connection(call.state, call.body["conn_type"], call.body))


def _load(body: Mapping[str, Any], *, required: Sequence[str]) -> None:
    error = load_errors(body, LOADABLE, required=required, max_lengths=MAX_LENGTHS)
    if error:
        raise BadRequest(error)


def _fields(body: Mapping[str, Any]) -> dict[str, Any]:
    return {name: body[name] for name in connections.FIELDS if name in body}


def _masked_changes(body: Mapping[str, Any], update_mask: Sequence[str]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for raw in update_mask:
        field = raw.strip()
        if field not in LOADABLE or field in NOT_UPDATABLE or field not in body:
            raise BadRequest(f"'{field}' is unknown or cannot be updated.")
        changes[field] = body[field]
    return changes
