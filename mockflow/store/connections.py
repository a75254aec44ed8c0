"""Connections: fixture reading, wire shape (password never, `extra` masked) and rules."""

from __future__ import annotations

from typing import Any

from mockflow.store.records import Connection
from mockflow.store.state import JSON, State


def load_connections(state: State, data: Any, source: str) -> None:
    for item in data:
        existing = state.connections.get(item["connection_id"])
        state.connections[item["connection_id"]] = Connection(
            connection_id=item["connection_id"],
            conn_type=item["conn_type"],
            description=item.get("description"),
            host=item.get("host"),
            login=item.get("login"),
            schema=item.get("schema"),
            port=item.get("port"),
            password=item.get("password"),
            extra=item.get("extra"),
            id=existing.id if existing else state.next_id("connections"),
        )


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
