"""What every Airflow has even when a fixture set leaves it out."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from mockflow.store.meta import DEFAULT_VERSION
from mockflow.store.records import Pool, Role, User
from mockflow.store.state import State

DEFAULT_POOL = "default_pool"

DEFAULT_ACTIONS = (
    "can_edit", "can_read", "can_create", "can_delete", "menu_access", "clear", "set_failed", "set_retry",
    "set_running", "set_skipped", "set_success", "muldelete", "mulemailsent", "mulemailsentfalse",
    "mulnotificationsent", "mulnotificationsentfalse",
)

R, C, E, D = "can_read", "can_create", "can_edit", "can_delete"
_VIEWER_READS = ("DAG Code", "Audit Logs", "ImportError", "DAG Warnings", "Datasets", "Plugins", "Task Logs")


def _grants(table: Mapping[str, tuple[str, ...]]) -> list[tuple[str, str]]:
    return [(action, resource) for resource, actions in table.items() for action in actions]


# The API-relevant permissions of Airflow 2.5.3's default roles (behaviour reference, 0.3).
_VIEWER = {"DAGs": (R,), "DAG Runs": (R,), "Task Instances": (R,), "XComs": (R,),
           **{resource: (R,) for resource in _VIEWER_READS}}
_USER = {**_VIEWER, "DAGs": (R, E, D), "DAG Runs": (R, C, E, D), "Task Instances": (R, C, E, D)}
_OP = {**_USER, "XComs": (R, D), "Configurations": (R,), "Connections": (R, C, E, D), "Pools": (R, C, E, D),
       "Variables": (R, C, E, D), "Providers": (R,)}
_ADMIN = {**_OP, "XComs": (R, C, D), "Roles": (R, C, E, D), "Users": (R, C, E, D), "Permissions": (R,)}
DEFAULT_ROLES: dict[str, list[tuple[str, str]]] = {
    "Admin": _grants(_ADMIN),
    "Public": [],
    "Viewer": _grants(_VIEWER),
    "User": _grants(_USER),
    "Op": _grants(_OP),
}


def ensure_builtins(state: State) -> None:
    if DEFAULT_POOL not in state.pools:
        state.pools = {DEFAULT_POOL: Pool(DEFAULT_POOL, 128, "Default pool", id=state.next_id("pools")),
                       **state.pools}
    if not state.actions:
        state.actions.extend(DEFAULT_ACTIONS)
    for name, permissions in DEFAULT_ROLES.items():
        if name not in state.roles:
            state.roles[name] = Role(name, list(permissions), id=state.next_id("roles"))
    if not state.users:
        created = datetime(2024, 1, 1, tzinfo=UTC)
        state.users["admin"] = User("admin", "admin@example.com", "Admin", "User", roles=["Admin"],
                                    password="admin", created_on=created, changed_on=created,
                                    id=state.next_id("users"))
    if not state.version:
        state.version = dict(DEFAULT_VERSION)
