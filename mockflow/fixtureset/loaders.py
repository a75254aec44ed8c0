"""Per-resource loaders: fixture objects (already checked) made into store records.

Each loader takes (state, data, source) and replaces objects with the same key, so that a later
layer overrides an earlier one. `LOADERS` is the one table of them, in the order the files are
read and loaded, so that references point at objects already loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson

from mockflow.fixtureset.dags import load_dag
from mockflow.fixtureset.files import FixtureError
from mockflow.store.builtins import ensure_default_roles
from mockflow.store.datasets import EPOCH, dataset_by_uri
from mockflow.store.meta import DEFAULT_VERSION
from mockflow.store.pools import DEFAULT_POOL, UNLIMITED
from mockflow.store.records import (
    Connection,
    DagWarning,
    Dataset,
    DatasetEvent,
    DatasetReference,
    EventLog,
    ImportErrorRecord,
    Pool,
    Role,
    User,
    Variable,
)
from mockflow.store.state import JSON, State
from mockflow.wire import parse_datetime

Loader = Callable[[State, Any, str], None]


# --- meta -------------------------------------------------------------------------------------

def load_version(state: State, data: Any, source: str) -> None:
    state.version = {**DEFAULT_VERSION, **data}


def load_config(state: State, data: Any, source: str) -> None:
    state.config = data


def load_plugins(state: State, data: Any, source: str) -> None:
    _replace_by(state.plugins, data, "name")


def load_providers(state: State, data: Any, source: str) -> None:
    _replace_by(state.providers, data, "package_name")


def _replace_by(rows: list[JSON], new: list[JSON], key: str) -> None:
    for item in new:
        existing = next((i for i, row in enumerate(rows) if row.get(key) == item.get(key)), None)
        if existing is None:
            rows.append(dict(item))
        else:
            rows[existing] = dict(item)


def load_import_errors(state: State, data: Any, source: str) -> None:
    for item in data:
        row_id = int(item.get("import_error_id") or state.next_id("import_errors"))
        state.note_id("import_errors", row_id)
        state.import_errors[row_id] = ImportErrorRecord(
            import_error_id=row_id,
            filename=item["filename"],
            stack_trace=item.get("stack_trace", ""),
            timestamp=parse_datetime(item.get("timestamp")) or parse_datetime("1970-01-01T00:00:00+00:00"),  # type: ignore[arg-type]
        )


def load_dag_warnings(state: State, data: Any, source: str) -> None:
    for item in data:
        state.dag_warnings = [
            w for w in state.dag_warnings if (w.dag_id, w.warning_type) != (item["dag_id"], item["warning_type"])
        ]
        state.dag_warnings.append(
            DagWarning(
                dag_id=item["dag_id"],
                warning_type=item["warning_type"],
                message=item.get("message", ""),
                timestamp=parse_datetime(item["timestamp"]),  # type: ignore[arg-type]
            )
        )


def load_event_logs(state: State, data: Any, source: str) -> None:
    for item in data:
        row_id = int(item.get("event_log_id") or state.next_id("event_logs"))
        state.note_id("event_logs", row_id)
        state.event_logs[row_id] = EventLog(
            event_log_id=row_id,
            when=parse_datetime(item["when"]),  # type: ignore[arg-type]
            event=item["event"],
            dag_id=item.get("dag_id"),
            task_id=item.get("task_id"),
            execution_date=parse_datetime(item.get("execution_date")),
            owner=item.get("owner"),
            extra=item.get("extra"),
        )


# --- security: actions, roles, users ------------------------------------------------------

def load_actions(state: State, data: Any, source: str) -> None:
    for item in data:
        name = item["name"] if isinstance(item, dict) else str(item)
        if name not in state.actions:
            state.actions.append(name)


def load_roles(state: State, data: Any, source: str) -> None:
    # The default roles exist before any other, so they keep Airflow's ids (Admin 1 ... Op 5).
    ensure_default_roles(state)
    for item in data:
        permissions = [(a["action"]["name"], a["resource"]["name"]) for a in item.get("actions", [])]
        existing = state.roles.get(item["name"])
        role_id = existing.id if existing else state.next_id("roles")
        state.roles[item["name"]] = Role(name=item["name"], permissions=permissions, id=role_id)


def load_users(state: State, data: Any, source: str) -> None:
    for item in data:
        key = item["username"].lower()
        existing = state.users.get(key)
        state.users[key] = User(
            username=item["username"],
            email=item["email"],
            first_name=item.get("first_name", ""),
            last_name=item.get("last_name", ""),
            roles=[r["name"] if isinstance(r, dict) else str(r) for r in item.get("roles", [])],
            active=item.get("active", True),
            password=item.get("password"),
            created_on=parse_datetime(item.get("created_on")),
            changed_on=parse_datetime(item.get("changed_on")),
            last_login=parse_datetime(item.get("last_login")),
            login_count=item.get("login_count"),
            fail_login_count=item.get("fail_login_count", item.get("failed_login_count")),
            id=existing.id if existing else state.next_id("users"),
        )


# --- pools --------------------------------------------------------------------------------

def load_pools(state: State, data: Any, source: str) -> None:
    if DEFAULT_POOL not in state.pools:
        # Airflow creates it when the database is initialised, so it holds the first id.
        state.pools[DEFAULT_POOL] = Pool(DEFAULT_POOL, 128, "Default pool", id=state.next_id("pools"))
    for item in data:
        if int(item["slots"]) == UNLIMITED:
            raise FixtureError(f"{source}: pool {item['name']!r}: slots -1 (unlimited) cannot be served by the API")
        existing = state.pools.get(item["name"])
        state.pools[item["name"]] = Pool(
            name=item["name"],
            slots=int(item["slots"]),
            description=item.get("description"),
            id=existing.id if existing else state.next_id("pools"),
        )


# --- variables ----------------------------------------------------------------------------

def load_variables(state: State, data: Any, source: str) -> None:
    for item in data:
        value = item.get("value")
        if not isinstance(value, str):
            # A fixture may give a JSON value directly; Airflow stores variables as text.
            value = orjson.dumps(value).decode()
        existing = state.variables.get(item["key"])
        state.variables[item["key"]] = Variable(
            key=item["key"],
            value=value,
            description=item.get("description"),
            id=existing.id if existing else state.next_id("variables"),
        )


# --- connections --------------------------------------------------------------------------

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


# --- datasets and their events ------------------------------------------------------------

def load_datasets(state: State, data: Any, source: str) -> None:
    for item in data:
        existing = dataset_by_uri(state, item["uri"])
        dataset_id = int(item.get("id") or (existing.id if existing else state.next_id("datasets")))
        state.note_id("datasets", dataset_id)
        if existing is not None and existing.id != dataset_id:
            del state.datasets[existing.id]
        created = parse_datetime(item.get("created_at")) or EPOCH
        state.datasets[dataset_id] = Dataset(
            id=dataset_id,
            uri=item["uri"],
            extra=dict(item.get("extra") or {}),
            created_at=created,
            updated_at=parse_datetime(item.get("updated_at")) or created,
            consuming_dags={ref["dag_id"]: _reference(ref, created) for ref in item.get("consuming_dags") or []},
            producing_tasks={(ref["dag_id"], ref["task_id"]): _reference(ref, created)
                             for ref in item.get("producing_tasks") or []},
        )


def _reference(data: JSON, default: datetime) -> DatasetReference:
    created = parse_datetime(data.get("created_at")) or default
    return DatasetReference(created_at=created, updated_at=parse_datetime(data.get("updated_at")) or created)


def load_dataset_events(state: State, data: Any, source: str) -> None:
    for item in data:
        event_id = int(item.get("id") or state.next_id("dataset_events"))
        state.note_id("dataset_events", event_id)
        state.dataset_events[event_id] = DatasetEvent(
            id=event_id,
            dataset_id=int(item["dataset_id"]),
            timestamp=parse_datetime(item["timestamp"]) or EPOCH,
            extra=dict(item.get("extra") or {}),
            source_dag_id=item.get("source_dag_id"),
            source_task_id=item.get("source_task_id"),
            source_run_id=item.get("source_run_id"),
            source_map_index=int(item.get("source_map_index", -1) if item.get("source_map_index") is not None else -1),
            created_dagruns=[(run["dag_id"], run["dag_run_id"]) for run in item.get("created_dagruns") or []],
        )


# File stem -> loader, in the order the stems are read and loaded: roles before the users that
# name them, pools before the DAGs whose tasks use them, DAGs before the dataset events that point
# at their runs.
LOADERS: dict[str, Loader] = {
    "version": load_version,
    "config": load_config,
    "plugins": load_plugins,
    "providers": load_providers,
    "permissions": load_actions,
    "roles": load_roles,
    "users": load_users,
    "pools": load_pools,
    "variables": load_variables,
    "connections": load_connections,
    "import_errors": load_import_errors,
    "dag_warnings": load_dag_warnings,
    "event_logs": load_event_logs,
    "datasets": load_datasets,
    "dags": load_dag,  # one file per DAG, in dags/
    "dataset_events": load_dataset_events,
}
LOAD_ORDER = tuple(LOADERS)
