"""Connections: fixture reading, wire shape (password never, `extra` masked) and rules.

`test_connection` stores nothing. It answers like Airflow's `Connection.test_connection` for the
hook types that the installed providers (the `providers` table) register; mockflow contacts no
external system, so a known hook that has a test method always reports success.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from mockflow.api.bodies import load_errors
from mockflow.audit import is_sensitive
from mockflow.problems import AlreadyExists, BadRequest, NotFound
from mockflow.store.records import Connection
from mockflow.store.state import JSON, State

# ConnectionSchema's loadable fields, in declared order
LOADABLE = ("connection_id", "conn_type", "description", "host", "login", "schema", "port", "password", "extra")
REQUIRED = ("connection_id", "conn_type")
# Column lengths that marshmallow-sqlalchemy turns into `Length(max=...)` checks
MAX_LENGTHS = {"connection_id": 250, "conn_type": 500, "host": 500, "schema": 500, "login": 500}
# update_mask names are attribute names; the id is `conn_id` there and may never be updated
NOT_UPDATABLE = ("connection_id", "conn_id")
REDACT_DEPTH = 5  # the secrets masker stops descending below this depth
TEST_SUCCESS = "Connection successfully tested"


# --- wire -----------------------------------------------------------------------------------

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


# --- rules ----------------------------------------------------------------------------------

def connections_by_id(state: State) -> list[Connection]:
    return sorted(state.connections.values(), key=lambda conn: conn.id)


def find_connection(state: State, connection_id: str) -> Connection:
    conn = state.connections.get(connection_id)
    if conn is None:
        raise NotFound(f"The Connection with connection_id: `{connection_id}` was not found",
                       title="Connection not found")
    return conn


def create_connection(state: State, body: Mapping[str, Any]) -> Connection:
    _load(body, required=REQUIRED)
    connection_id = body["connection_id"]
    if connection_id == "":
        # The real server stores it, and then no URL can reach it again.
        raise BadRequest("{'connection_id': ['Shorter than minimum length 1.']}")
    if connection_id in state.connections:
        raise AlreadyExists(f"Connection already exist. ID: {connection_id}")
    conn = Connection(connection_id=connection_id, conn_type=body["conn_type"], id=state.next_id("connections"))
    _apply(conn, body)
    state.connections[connection_id] = conn
    return conn


def update_connection(
    state: State, connection_id: str, body: Mapping[str, Any], update_mask: Sequence[str] | None
) -> Connection:
    """PATCH: a partial load, so only the fields sent (or masked) change."""
    _load(body, required=())
    conn = find_connection(state, connection_id)
    # Airflow skips this check for an empty id and then renames the row to "": refused here too.
    if "connection_id" in body and body["connection_id"] != connection_id:
        raise BadRequest("The connection_id cannot be updated.")
    if update_mask:
        changes = _masked_changes(body, update_mask)
    else:
        changes = {name: body[name] for name in LOADABLE if name in body and name != "connection_id"}
    _apply(conn, changes)
    return conn


def delete_connection(state: State, connection_id: str) -> None:
    find_connection(state, connection_id)
    del state.connections[connection_id]


def _load(body: Mapping[str, Any], *, required: Sequence[str]) -> None:
    error = load_errors(body, LOADABLE, required=required, max_lengths=MAX_LENGTHS)
    if error:
        raise BadRequest(error)


def _masked_changes(body: Mapping[str, Any], update_mask: Sequence[str]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for raw in update_mask:
        field = raw.strip()
        if field not in LOADABLE or field in NOT_UPDATABLE or field not in body:
            raise BadRequest(f"'{field}' is unknown or cannot be updated.")
        changes[field] = body[field]
    return changes


def _apply(conn: Connection, changes: Mapping[str, Any]) -> None:
    for name in ("conn_type", "description", "host", "login", "schema", "port", "password", "extra"):
        if name in changes:
            setattr(conn, name, changes[name])


# --- test_connection ------------------------------------------------------------------------

class Hook(NamedTuple):
    provider: str  # the package that registers the connection type
    class_name: str
    testable: bool  # implements or inherits `test_connection`


def _hooks(provider: str, **types: tuple[str, bool]) -> dict[str, Hook]:
    return {conn_type: Hook(f"apache-airflow-providers-{provider}", cls, ok) for conn_type, (cls, ok) in types.items()}


# Connection types of common providers. SQL hooks inherit DbApiHook's test (`SELECT 1`).
HOOKS: dict[str, Hook] = {
    **_hooks("sqlite", sqlite=("SqliteHook", True)),
    **_hooks("http", http=("HttpHook", True)),
    **_hooks("ftp", ftp=("FTPHook", True), ftps=("FTPSHook", True)),
    **_hooks("imap", imap=("ImapHook", False)),
    **_hooks("postgres", postgres=("PostgresHook", True)),
    **_hooks("mysql", mysql=("MySqlHook", True)),
    **_hooks("microsoft-mssql", mssql=("MsSqlHook", True)),
    **_hooks("oracle", oracle=("OracleHook", True)),
    **_hooks("odbc", odbc=("OdbcHook", True)),
    **_hooks("jdbc", jdbc=("JdbcHook", True)),
    **_hooks("trino", trino=("TrinoHook", True)),
    **_hooks("presto", presto=("PrestoHook", True)),
    **_hooks("vertica", vertica=("VerticaHook", True)),
    **_hooks("snowflake", snowflake=("SnowflakeHook", True)),
    **_hooks("amazon", aws=("AwsGenericHook", True), redshift=("RedshiftSQLHook", True)),
    **_hooks("google", google_cloud_platform=("GoogleBaseHook", True)),
    **_hooks("ssh", ssh=("SSHHook", True)),
    **_hooks("sftp", sftp=("SFTPHook", True)),
    **_hooks("redis", redis=("RedisHook", False)),
    **_hooks("samba", samba=("SambaHook", False)),
    **_hooks("apache-cassandra", cassandra=("CassandraHook", False)),
    **_hooks("apache-hive", hive_cli=("HiveCliHook", False), hive_metastore=("HiveMetastoreHook", False),
             hiveserver2=("HiveServer2Hook", True)),
}


def installed_hooks(state: State) -> dict[str, Hook]:
    """The hook types Airflow knows of: those of the providers in the `providers` table."""
    installed = {provider.get("package_name") for provider in state.providers}
    return {conn_type: hook for conn_type, hook in HOOKS.items() if hook.provider in installed}


def test_connection(state: State, body: Mapping[str, Any]) -> JSON:
    _load(body, required=REQUIRED)
    hook = installed_hooks(state).get(body["conn_type"])
    if hook is None:
        return {"status": False, "message": f'Unknown hook type "{body["conn_type"]}"'}
    if not hook.testable:
        message = f"Hook {hook.class_name} doesn't implement or inherit test_connection method"
        return {"status": False, "message": message}
    return {"status": True, "message": TEST_SUCCESS}
