"""Who is calling (HTTP Basic against the store's users) and whether they hold what an operation needs.

Checks follow Airflow's order: authentication (401) before authorisation (403), both after
request validation. `auth="none"` lets everything through as the first admin-like user;
`auth="deny"` answers 401 to every request that needs credentials.
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Iterable, Mapping
from typing import Any

from mockflow.problems import PermissionDenied, Unauthenticated
from mockflow.store.records import Role, User
from mockflow.store.security import record_login, user_for_login
from mockflow.store.state import State
from mockflow.values import value_class

READ, CREATE, EDIT, DELETE = "can_read", "can_create", "can_edit", "can_delete"
DAGS = "DAGs"
DAG_PREFIX = "DAG:"
Permission = tuple[str, str]  # (action, resource)

@value_class(frozen=True, slots=True)
class Caller:
    """The authenticated user and the permissions their roles grant, computed once per request."""

    username: str
    permissions: frozenset[Permission]
    unrestricted: bool = False  # auth mode "none": everything allowed

    def can(self, action: str, resource: str) -> bool:
        return self.unrestricted or (action, resource) in self.permissions

    def can_on_dag(self, action: str, dag_id: str) -> bool:
        """The global `DAGs` permission, or the DAG's own `DAG:<dag_id>` one."""
        return self.can(action, DAGS) or self.can(action, DAG_PREFIX + dag_id)

    def can_on_some_dag(self, action: str, dag_ids: Iterable[str] | None = None) -> bool:
        """Airflow's check when no DAG is named: the global permission, or the DAG-level one on at
        least one of `dag_ids` (the DAGs that exist; None: any `DAG:` resource counts)."""
        if self.can(action, DAGS):
            return True
        if dag_ids is None:
            return any(act == action and res.startswith(DAG_PREFIX) for act, res in self.permissions)
        return bool(self.dag_filter(action, dag_ids))

    def dag_filter(self, action: str, dag_ids: Iterable[str]) -> list[str]:
        """The DAG ids this caller may see (READ) or change (EDIT), in the given order."""
        if self.can(action, DAGS):
            return list(dag_ids)
        return [dag_id for dag_id in dag_ids if (action, DAG_PREFIX + dag_id) in self.permissions]

    def visible_dag_ids(self, dag_ids: Iterable[str]) -> list[str]:
        """What `GET /dags` lists: DAGs the caller may read or edit."""
        if self.can(READ, DAGS) or self.can(EDIT, DAGS):
            return list(dag_ids)
        allowed = {res[len(DAG_PREFIX):] for act, res in self.permissions
                   if act in (READ, EDIT) and res.startswith(DAG_PREFIX)}
        return [dag_id for dag_id in dag_ids if dag_id in allowed]


UNRESTRICTED = Caller(username="admin", permissions=frozenset(), unrestricted=True)


@functools.lru_cache(maxsize=256)
def parse_basic(header: str | None) -> tuple[str, str] | None:
    # A pure function of the header; clients send the same one request after request.
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


def authenticate(state: State, header: str | None, mode: str, now: Any) -> Caller:
    """Checks credentials and, like Airflow, counts the attempt on the user's record.

    An empty username or password is refused before any lookup (nothing counted); an unknown or
    inactive user is refused without counting; a wrong password counts a failed login.
    """
    if mode == "none":
        return UNRESTRICTED
    if mode == "deny":
        raise Unauthenticated()
    credentials = parse_basic(header)
    if credentials is None or not credentials[0] or not credentials[1]:
        raise Unauthenticated()
    login, password = credentials
    user = user_for_login(state, login)
    if user is None or not user.active:
        raise Unauthenticated()
    if user.password is None or user.password != password:
        record_login(state.changes, user, False, now)
        raise Unauthenticated()
    record_login(state.changes, user, True, now)
    return Caller(username=user.username, permissions=permissions_of(state, user))


def permissions_of(state: State, user: User) -> frozenset[Permission]:
    roles = [role for name in user.roles if (role := state.roles.get(name)) is not None]
    if len(roles) == 1:
        return _granted_by(roles[0])
    return frozenset().union(*(_granted_by(role) for role in roles))


def _granted_by(role: Role) -> frozenset[Permission]:
    """A role's permissions as a set, built once: kept with a copy of the list it was built from
    and used while the role's list is still equal to it (a list comparison, no set to build), so
    a changed role, however it changed, is seen at the next request."""
    kept = _granted.get(role.name)
    if kept is not None and kept[0] == role.permissions:
        return kept[1]
    if len(_granted) >= 256:
        _granted.clear()
    granted = frozenset(role.permissions)
    _granted[role.name] = (list(role.permissions), granted)
    return granted


_granted: dict[str, tuple[list[Permission], frozenset[Permission]]] = {}


def authorize(caller: Caller, required: Iterable[Permission], path: Mapping[str, Any], state: State | None = None,
              ) -> None:
    """403 unless the caller holds every permission in `required` (what the operation needs).

    A requirement on `DAGs` is met by the global permission or by `DAG:<root dag id>` for the
    path's DAG; without a concrete DAG id (none, or `~`) access to at least one existing DAG is
    enough (edit access for anything but reading). `state` tells which DAGs exist and their roots.
    """
    if caller.unrestricted:
        return
    dag_id = path.get("dag_id")
    for action, resource in required:
        if resource != DAGS:
            allowed = caller.can(action, resource)
        elif dag_id is None or dag_id == "~":
            some = action if action == READ else EDIT
            allowed = caller.can(action, DAGS) or caller.can_on_some_dag(
                some, None if state is None else state.dags)
        else:
            allowed = caller.can_on_dag(action, _root_dag_id(state, str(dag_id)))
        if not allowed:
            raise PermissionDenied()


def _root_dag_id(state: State | None, dag_id: str) -> str:
    """Subdags (`parent.child`) are governed by their root DAG's permissions."""
    dag = state.dags.get(dag_id) if state is not None and "." in dag_id else None
    return (dag.root_dag_id or dag_id) if dag is not None else dag_id
