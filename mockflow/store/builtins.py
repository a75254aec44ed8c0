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

R, C, E, D, M = "can_read", "can_create", "can_edit", "can_delete", "menu_access"
CRUDM = (C, R, E, D, M)


def _grants(table: Mapping[str, tuple[str, ...]]) -> list[tuple[str, str]]:
    return [(action, resource) for resource, actions in table.items() for action in actions]


# The permissions of Airflow 2.5.3's default roles, menus included (what GET /roles/{name} lists).
_VIEWER = {
    "My Password": (E, R), "My Profile": (E, R), "DAG Runs": (R, M), "Browse": (M,), "Jobs": (R, M),
    "Audit Logs": (R, M), "Task Instances": (R, M), "SLA Misses": (R, M), "Plugins": (R, M), "XComs": (R,),
    "DAG Dependencies": (M, R), "DAGs": (M, R), "Datasets": (M, R), "Documentation": (M,), "Docs": (M,),
    "ImportError": (R,), "DAG Code": (R,), "DAG Warnings": (R,), "Task Logs": (R,), "Website": (R,),
}
_USER = {**_VIEWER, "DAG Runs": CRUDM, "Task Instances": CRUDM, "DAGs": (M, R, E, D)}
_OP = {**_USER, "Variables": CRUDM, "Admin": (M,), "Configurations": (R, M), "Connections": CRUDM,
       "Providers": (R,), "Pools": CRUDM, "XComs": (R, D, M)}
_ADMIN = {
    "Passwords": (E, R), **_OP, "Users": (C, R, E, D), "List Users": (M,), "Security": (M,),
    "Roles": (C, R, E, D), "List Roles": (M,), "User Stats Chart": (R,), "User's Statistics": (M,),
    "Permissions": (R,), "Actions": (M,), "View Menus": (R,), "Resources": (M,), "Permission Views": (R,),
    "Permission Pairs": (M,), "Task Instances": (*CRUDM, "clear", "set_failed", "set_retry", "set_running",
                                                 "set_skipped", "set_success"),
    "Task Reschedules": (R, M), "Triggers": (R, M), "Providers": (R, M),
    "SLA Misses": (R, M, "muldelete", "mulemailsent", "mulemailsentfalse", "mulnotificationsent",
                   "mulnotificationsentfalse"),
    "XComs": (C, R, D, M),
}
# In Airflow's creation order, which gives their ids (Admin 1, Public 2, Viewer 3, User 4, Op 5).
DEFAULT_ROLES: dict[str, list[tuple[str, str]]] = {
    "Admin": _grants(_ADMIN),
    "Public": [],
    "Viewer": _grants(_VIEWER),
    "User": _grants(_USER),
    "Op": _grants(_OP),
}


def ensure_default_roles(state: State) -> None:
    for name, permissions in DEFAULT_ROLES.items():
        if name not in state.roles:
            state.changes.put(state.roles, name, Role(name, list(permissions), id=state.next_id("roles")))


def ensure_builtins(state: State) -> None:
    if DEFAULT_POOL not in state.pools:
        state.changes.set(state, pools={DEFAULT_POOL: Pool(DEFAULT_POOL, 128, "Default pool",
                                                           id=state.next_id("pools")), **state.pools})
    if not state.actions:
        state.changes.set(state, actions=list(DEFAULT_ACTIONS))
    ensure_default_roles(state)
    if not state.users:
        created = datetime(2024, 1, 1, tzinfo=UTC)
        state.changes.put(state.users, "admin", User("admin", "admin@example.com", "Admin", "User", roles=["Admin"],
                                    password="admin", created_on=created, changed_on=created,
                                    id=state.next_id("users")))
    if not state.version:
        state.changes.set(state, version=dict(DEFAULT_VERSION))
