"""get_connections, get_connection, post_connection, patch_connection, delete_connection and
test_connection (rules in store/connections.py)."""

from __future__ import annotations

from mockflow.api.context import NO_CONTENT, Call, Reply
from mockflow.pagination import by_attributes, ordered, page
from mockflow.store import connections
from mockflow.store.state import JSON

ORDER_COLUMNS = by_attributes("connection_id", "conn_type", "description", "host", "port", "id")


def get_connections(call: Call) -> JSON:
    rows = ordered(connections.connections_by_id(call.state), call.query.get("order_by"), ORDER_COLUMNS, "id")
    # List items omit `extra` (and, like everywhere, the password).
    return {"connections": [connections.connection_item_to_wire(c) for c in page(rows, call.query)],
            "total_entries": len(rows)}


def get_connection(call: Call) -> JSON:
    return connections.connection_to_wire(connections.find_connection(call.state, call.path["connection_id"]))


def post_connection(call: Call) -> JSON:
    return connections.connection_to_wire(connections.create_connection(call.state, call.body))


def patch_connection(call: Call) -> JSON:
    conn = connections.update_connection(call.state, call.path["connection_id"], call.body,
                                         call.query.get("update_mask"))
    return connections.connection_to_wire(conn)


def delete_connection(call: Call) -> Reply:
    connections.delete_connection(call.state, call.path["connection_id"])
    return NO_CONTENT


def test_connection(call: Call) -> JSON:
    return connections.test_connection(call.state, call.body)
