"""Roles: lookup, the resources Airflow knows, and the rules of role changes.

Role names, actions and resources are case-sensitive. Permissions are (action, resource) pairs;
an update adds the listed ones and never removes any, as Airflow 2.5.3 does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from mockflow.store.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from mockflow.store.records import Role
from mockflow.store.state import State

DAG_PREFIX = "DAG:"
Permission = tuple[str, str]  # (action, resource)

# Every resource (FAB "view menu") an Airflow 2.5.3 database holds, besides one `DAG:<dag_id>` per DAG.
RESOURCES = frozenset({
    "Actions", "Admin", "Audit Logs", "Browse", "Configurations", "Connections", "DAG Code",
    "DAG Dependencies", "DAG Runs", "DAG Warnings", "DAGs", "Datasets", "Docs", "Documentation",
    "ImportError", "Jobs", "List Roles", "List Users", "My Password", "My Profile", "Passwords",
    "Permission Pairs", "Permission Views", "Permissions", "Plugins", "Pools", "Providers", "Resources",
    "Roles", "SLA Misses", "Security", "Task Instances", "Task Logs", "Task Reschedules", "Triggers",
    "User Stats Chart", "User's Statistics", "Users", "Variables", "View Menus", "Website", "XComs",
})


def roles_by_id(state: State) -> list[Role]:
    return sorted(state.roles.values(), key=lambda role: role.id)


def find_role(state: State, name: str) -> Role:
    role = state.roles.get(name)
    if role is None:
        raise NotFoundError("role_not_found", name=name)
    return role


def known_resources(state: State) -> set[str]:
    """Airflow's resources: the fixed ones, one per DAG, and any a loaded role refers to."""
    names = set(RESOURCES) | {DAG_PREFIX + dag_id for dag_id in state.dags}
    names.update(resource for role in state.roles.values() for _, resource in role.permissions)
    return names


def refuse_existing(state: State, name: str) -> None:
    """Airflow checks this before it reads the role's actions."""
    if name in state.roles:
        raise AlreadyExistsError("role_exists", name=name)


def create_role(state: State, name: str, permissions: Sequence[Permission]) -> Role:
    """409, then every action and resource must exist."""
    refuse_existing(state, name)
    check_permissions(state, permissions)
    role = Role(name=name, permissions=_added([], permissions), id=state.next_id("roles"))
    state.changes.put(state.roles, name, role)
    return role


def update_role(state: State, role_name: str, new_name: str | None, permissions: Sequence[Permission]) -> Role:
    """404, unknown actions and resources; `permissions` are added; a new name renames, unless
    another role has it: Flask-AppBuilder's `update_role` then rolls its rename back and logs it,
    and the role keeps its name (the real 2.5.3 answers 200 with the old name)."""
    role = find_role(state, role_name)
    check_permissions(state, permissions)
    state.changes.set(role, permissions=_added(role.permissions, permissions))
    if new_name is not None and new_name != role.name and new_name not in state.roles:
        _rename(state, role, new_name)
    return role


def delete_role(state: State, role_name: str) -> None:
    """Users holding the role lose it (Airflow deletes the link rows with the role)."""
    role = find_role(state, role_name)
    state.changes.pop(state.roles, role.name)
    for user in state.users.values():
        if role.name in user.roles:
            state.changes.set(user, roles=[name for name in user.roles if name != role.name])


def check_permissions(state: State, permissions: Iterable[Permission]) -> None:
    """Each pair in turn: its action must exist, then its resource."""
    resources = known_resources(state)
    for action, resource in permissions:
        if action not in state.actions:
            raise InvalidInputError("action_not_found", action=action)
        if resource not in resources:
            raise InvalidInputError("resource_not_found", resource=resource)


def _added(current: Sequence[Permission], new: Iterable[Permission]) -> list[Permission]:
    result = list(current)
    for pair in new:
        if pair not in result:
            result.append(pair)
    return result


def _rename(state: State, role: Role, new_name: str) -> None:
    old_name = role.name
    state.changes.set(role, name=new_name)
    state.changes.set(state, roles={(new_name if key == old_name else key): value
                                    for key, value in state.roles.items()})
    for user in state.users.values():
        if old_name in user.roles:
            state.changes.set(user, roles=[new_name if name == old_name else name for name in user.roles])
