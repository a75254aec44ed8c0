"""Connections: fixture reading, rules, and which hooks the test_connection operation knows.

`check_connection` stores nothing. It answers like Airflow's `Connection.test_connection` for the
hook types that the installed providers (the `providers` table) register; mockflow contacts no
external system, so a known hook that has a test method always reports success.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from mockflow.store import connection_tests
from mockflow.store.errors import AlreadyExistsError, NotFoundError
from mockflow.store.records import Connection
from mockflow.store.state import State

# The fields a change may set (the id is the key and never changes)
FIELDS = ("conn_type", "description", "host", "login", "schema", "port", "password", "extra")
TEST_SUCCESS = "Connection successfully tested"




# --- rules ----------------------------------------------------------------------------------

def connections_by_id(state: State) -> list[Connection]:
    return sorted(state.connections.values(), key=lambda conn: conn.id)


def find_connection(state: State, connection_id: str) -> Connection:
    conn = state.connections.get(connection_id)
    if conn is None:
        raise NotFoundError("connection_not_found", connection_id=connection_id)
    return conn


def create_connection(state: State, connection_id: str, conn_type: str, fields: Mapping[str, Any]) -> Connection:
    """`fields` holds checked values of `FIELDS`; absent ones stay null."""
    if connection_id in state.connections:
        raise AlreadyExistsError("connection_exists", connection_id=connection_id)
    conn = Connection(connection_id=connection_id, conn_type=conn_type, id=state.next_id("connections"))
    _apply(state, conn, fields)
    state.changes.put(state.connections, connection_id, conn)
    return conn


def update_connection(state: State, connection_id: str, changes: Mapping[str, Any]) -> Connection:
    """`changes` holds checked values of `FIELDS`; only those change."""
    conn = find_connection(state, connection_id)
    _apply(state, conn, changes)
    return conn


def delete_connection(state: State, connection_id: str) -> None:
    find_connection(state, connection_id)
    state.changes.pop(state.connections, connection_id)


def _apply(state: State, conn: Connection, changes: Mapping[str, Any]) -> None:
    state.changes.set(conn, **{name: changes[name] for name in FIELDS if name in changes})


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


class ConnectionCheck(NamedTuple):
    status: bool
    message: str


def check_connection(state: State, conn_type: str, fields: Mapping[str, Any] | None = None) -> ConnectionCheck:
    """What `Connection.test_connection` reports: the hook's own outcome where it needs no network
    (`connection_tests`), else success for a known hook with a test method."""
    hook = installed_hooks(state).get(conn_type)
    if hook is None:
        return ConnectionCheck(False, f'Unknown hook type "{conn_type}"')
    if not hook.testable:
        return ConnectionCheck(False, f"Hook {hook.class_name} doesn't implement or inherit test_connection method")
    outcome = connection_tests.decided(conn_type, fields or {})
    if outcome is not None:
        return ConnectionCheck(*outcome)
    return ConnectionCheck(True, TEST_SUCCESS)
