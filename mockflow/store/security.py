"""Users, roles and the action list: fixture reading, wire shapes and the rules of their API.

Usernames are case-insensitive (the table is keyed by the lower-cased name), emails, role names,
actions and resources are case-sensitive, as on Airflow 2.5.3 with its FAB security manager.
Bodies are checked the way Airflow's marshmallow schemas load them (after the spec check),
with the same error texts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from mockflow.api.bodies import MISSING, UNKNOWN
from mockflow.pagination import ordered
from mockflow.problems import AlreadyExists, BadRequest, NotFound
from mockflow.store.records import Role, User
from mockflow.store.state import JSON, State
from mockflow.wire import naive_iso

DAG_PREFIX = "DAG:"
DEFAULT_USER_ROLE = "Public"  # [fab] AUTH_USER_REGISTRATION_ROLE: what a user created without roles gets

# Every resource (FAB "view menu") an Airflow 2.5.3 database holds, besides one `DAG:<dag_id>` per DAG.
RESOURCES = frozenset({
    "Actions", "Admin", "Audit Logs", "Browse", "Configurations", "Connections", "DAG Code",
    "DAG Dependencies", "DAG Runs", "DAG Warnings", "DAGs", "Datasets", "Docs", "Documentation",
    "ImportError", "Jobs", "List Roles", "List Users", "My Password", "My Profile", "Passwords",
    "Permission Pairs", "Permission Views", "Permissions", "Plugins", "Pools", "Providers", "Resources",
    "Roles", "SLA Misses", "Security", "Task Instances", "Task Logs", "Task Reschedules", "Triggers",
    "User Stats Chart", "User's Statistics", "Users", "Variables", "View Menus", "Website", "XComs",
})

# The marshmallow schemas: loadable fields in declared order, required ones, column lengths.
USER_FIELDS = ("first_name", "last_name", "username", "email", "roles", "password")
USER_REQUIRED = ("first_name", "last_name", "username", "email")
USER_LENGTHS = {"first_name": 64, "last_name": 64, "username": 64, "email": 64, "password": 256}
ROLE_NAME_LENGTH, ACTION_NAME_LENGTH, RESOURCE_NAME_LENGTH = 64, 100, 250

ErrorTree = dict[Any, Any]


# --- wire -----------------------------------------------------------------------------------

def user_to_wire(user: User) -> JSON:
    """The server's names (`fail_login_count`, not the spec's `failed_login_count`), naive dates."""
    return {
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "active": user.active,
        "roles": [{"name": name} for name in user.roles],
        "created_on": naive_iso(user.created_on),
        "changed_on": naive_iso(user.changed_on),
        "last_login": naive_iso(user.last_login),
        "login_count": user.login_count,
        "fail_login_count": user.fail_login_count,
    }


def role_to_wire(role: Role) -> JSON:
    return {
        "name": role.name,
        "actions": [{"action": {"name": a}, "resource": {"name": r}} for a, r in role.permissions],
    }


# --- login ----------------------------------------------------------------------------------

def user_for_login(state: State, login: str) -> User | None:
    """FAB's database login: the username (any case), else a registered email address."""
    if not login:
        return None
    return state.users.get(login.lower()) or user_by_email(state, login)


def record_login(user: User, success: bool, now: datetime) -> None:
    """FAB's `update_user_auth_stat`: both counters become numbers on the first attempt."""
    user.login_count = user.login_count or 0
    user.fail_login_count = user.fail_login_count or 0
    if success:
        user.login_count += 1
        user.last_login = now
        user.fail_login_count = 0
    else:
        user.fail_login_count += 1


# --- users ----------------------------------------------------------------------------------

USER_ORDER: dict[str, Callable[[User], Any]] = {
    "id": lambda user: user.id,
    "first_name": lambda user: user.first_name,
    "last_name": lambda user: user.last_name,
    "email": lambda user: user.email,
}


def users_ordered(state: State, order_by: str | None) -> list[User]:
    """`order_by` is matched raw: no `-` prefix. Airflow also allows `user_name`, `is_active` and
    `role`, then crashes on them (no such attribute); mockflow refuses them with the same 400."""
    rows = sorted(state.users.values(), key=lambda user: user.id)
    return ordered(rows, order_by, USER_ORDER, "id", allow_descending=False)


def user_by_email(state: State, email: str) -> User | None:
    return next((user for user in state.users.values() if user.email == email), None)


def find_user(state: State, username: str) -> User:
    user = state.users.get(username.lower())
    if user is None:
        raise NotFound(f"The User with username `{username}` was not found", title="User not found")
    return user


def create_user(state: State, body: Mapping[str, Any], now: datetime) -> User:
    """Load, then username clash, email clash, unknown roles; no roles means `Public`."""
    _load_user(body)
    username, email = body["username"], body["email"]
    if username.lower() in state.users:
        raise AlreadyExists(f"Username `{username}` already exists. Use PATCH to update.")
    if user_by_email(state, email) is not None:
        raise AlreadyExists(f"The email `{email}` is already taken.")
    roles = _resolve_roles(state, body.get("roles") or []) or [DEFAULT_USER_ROLE]
    _refuse_repeated_roles(username, roles)
    user = User(
        username=username, email=email, first_name=body["first_name"], last_name=body["last_name"],
        roles=roles, active=True, password=body.get("password"), created_on=now, changed_on=now,
        id=state.next_id("users"),
    )
    state.users[username.lower()] = user
    return user


def update_user(state: State, username: str, body: Mapping[str, Any], update_mask: Sequence[str] | None) -> User:
    """Airflow's order: full load, 404, username clash, email clash (both before the mask is
    applied, and the username compared with the path as typed), mask, roles. `changed_on` stays."""
    _load_user(body)
    user = find_user(state, username)
    new_username = body["username"]
    if new_username != username and new_username.lower() in state.users:
        raise AlreadyExists(f"The username `{new_username}` already exists")
    email = body["email"]
    if email != user.email and user_by_email(state, email) is not None:
        raise AlreadyExists(f"The email `{email}` already exists")
    changes = dict(body) if update_mask is None else _masked(body, update_mask)
    roles = _resolve_roles(state, changes.pop("roles")) if "roles" in changes else None
    if roles is not None:
        _refuse_repeated_roles(user.username, roles)
    if "password" in changes:
        user.password = changes.pop("password")
    if roles is not None:
        user.roles = roles
    for field in ("first_name", "last_name", "email"):
        if field in changes:
            setattr(user, field, changes[field])
    if "username" in changes and changes["username"] != user.username:
        _rename_user(state, user, changes["username"])
    return user


def delete_user(state: State, username: str) -> None:
    user = find_user(state, username)
    del state.users[user.username.lower()]


def _masked(body: Mapping[str, Any], update_mask: Sequence[str]) -> dict[str, Any]:
    fields = [name.strip() for name in update_mask]
    missing = [name for name in fields if name not in body]
    if missing:
        raise BadRequest(f"Unknown update masks: {', '.join(repr(name) for name in missing)}")
    return {name: body[name] for name in fields}


def _resolve_roles(state: State, items: Iterable[Mapping[str, Any]]) -> list[str]:
    names = [item["name"] for item in items]
    unknown = [name for name in names if name not in state.roles]
    if unknown:
        raise BadRequest(f"Unknown roles: {', '.join(repr(name) for name in unknown)}")
    return names


def _refuse_repeated_roles(username: str, roles: Sequence[str]) -> None:
    # Airflow's user-role link table is unique per pair: the insert fails (a 500 on the real server).
    repeated = sorted({name for name in roles if roles.count(name) > 1})
    if repeated:
        raise BadRequest(f"Cannot give user `{username}` the same role twice: "
                         + ", ".join(repr(name) for name in repeated))


def _rename_user(state: State, user: User, new_username: str) -> None:
    """A new key in the same place, so the table keeps its id order."""
    old_key = user.username.lower()
    user.username = new_username
    state.users = {(new_username.lower() if key == old_key else key): value for key, value in state.users.items()}


def _load_user(body: Mapping[str, Any]) -> None:
    errors = _fields_errors(body, USER_FIELDS, USER_REQUIRED, USER_LENGTHS)
    if "roles" in body and isinstance(body["roles"], list):
        nested = _list_errors(body["roles"], lambda item: _fields_errors(item, ("name",), ("name",),
                                                                           {"name": ROLE_NAME_LENGTH}))
        if nested:
            errors = _insert_in_order(errors, "roles", nested, USER_FIELDS)
    if errors:
        raise BadRequest(str(errors))


# --- roles ----------------------------------------------------------------------------------

ROLE_ORDER: dict[str, Callable[[Role], Any]] = {
    "name": lambda role: role.name,
    "role_id": lambda role: role.id,
}


def roles_ordered(state: State, order_by: str | None) -> list[Role]:
    rows = sorted(state.roles.values(), key=lambda role: role.id)
    return ordered(rows, order_by, ROLE_ORDER, "name", allow_descending=False)


def find_role(state: State, name: str) -> Role:
    role = state.roles.get(name)
    if role is None:
        raise NotFound(f"Role with name {name!r} was not found", title="Role not found")
    return role


def known_resources(state: State) -> set[str]:
    """Airflow's resources: the fixed ones, one per DAG, and any a loaded role refers to."""
    names = set(RESOURCES) | {DAG_PREFIX + dag_id for dag_id in state.dags}
    names.update(resource for role in state.roles.values() for _, resource in role.permissions)
    return names


def create_role(state: State, body: Mapping[str, Any]) -> Role:
    """Load, 409, then every action and resource must exist."""
    _load_role(body)
    name = body["name"]
    if name in state.roles:
        raise AlreadyExists(f"Role with name {name!r} already exists; please update with the PATCH endpoint")
    if "actions" not in body:
        # The real server crashes here (KeyError, 500 HTML).
        raise BadRequest(str({"actions": [MISSING]}))
    permissions = _checked_permissions(state, body["actions"])
    role = Role(name=name, permissions=_added([], permissions), id=state.next_id("roles"))
    state.roles[name] = role
    return role


def update_role(state: State, role_name: str, body: Mapping[str, Any], update_mask: Sequence[str] | None) -> Role:
    """Load, 404, mask; listed permissions are added (never removed); a new name renames."""
    _load_role(body)
    role = find_role(state, role_name)
    changes = dict(body) if update_mask is None else _role_mask(body, update_mask)
    permissions = _checked_permissions(state, changes["actions"]) if "actions" in changes else []
    new_name = changes.get("name")
    if new_name is not None and new_name != role.name and new_name in state.roles:
        # Airflow's role names are unique: the rename fails (500 on the real server).
        raise BadRequest(f"Role with name {new_name!r} already exists")
    role.permissions = _added(role.permissions, permissions)
    if new_name is not None and new_name != role.name:
        _rename_role(state, role, new_name)
    return role


def delete_role(state: State, role_name: str) -> None:
    """Users holding the role lose it (Airflow deletes the link rows with the role)."""
    role = find_role(state, role_name)
    del state.roles[role.name]
    for user in state.users.values():
        if role.name in user.roles:
            user.roles = [name for name in user.roles if name != role.name]


def _role_mask(body: Mapping[str, Any], update_mask: Sequence[str]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for field in (name.strip() for name in update_mask):
        if field == "name" and "name" in body:
            changes["name"] = body["name"]
        elif field == "actions":
            if "actions" not in body:
                # The real server crashes here (KeyError, 500 HTML).
                raise BadRequest("'actions' is in update_mask but missing from the request body")
            changes["actions"] = body["actions"]
        else:
            raise BadRequest(f"'{field}' in update_mask is unknown")
    return changes


def _checked_permissions(state: State, items: Sequence[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """(action, resource) pairs, each checked in turn; empty items are skipped as Airflow does."""
    for index, item in enumerate(items):
        if item and ("action" not in item or "resource" not in item):
            # The real server crashes on such an item (KeyError, 500 HTML).
            missing = "action" if "action" not in item else "resource"
            raise BadRequest(str({"actions": {index: {missing: [MISSING]}}}))
    pairs = [(item["action"]["name"], item["resource"]["name"]) for item in items if item]
    resources = known_resources(state)
    for action, resource in pairs:
        if action not in state.actions:
            raise BadRequest(f"The specified action: {action!r} was not found")
        if resource not in resources:
            raise BadRequest(f"The specified resource: {resource!r} was not found")
    return pairs


def _added(current: Sequence[tuple[str, str]], new: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    result = list(current)
    for pair in new:
        if pair not in result:
            result.append(pair)
    return result


def _rename_role(state: State, role: Role, new_name: str) -> None:
    old_name = role.name
    role.name = new_name
    state.roles = {(new_name if key == old_name else key): value for key, value in state.roles.items()}
    for user in state.users.values():
        if old_name in user.roles:
            user.roles = [new_name if name == old_name else name for name in user.roles]


def _load_role(body: Mapping[str, Any]) -> None:
    errors = _fields_errors(body, ("name", "actions"), ("name",), {"name": ROLE_NAME_LENGTH})
    if isinstance(body.get("actions"), list):
        nested = _list_errors(body["actions"], _action_resource_errors)
        if nested:
            errors = _insert_in_order(errors, "actions", nested, ("name", "actions"))
    if errors:
        raise BadRequest(str(errors))


def _action_resource_errors(item: Mapping[str, Any]) -> ErrorTree:
    errors: ErrorTree = {}
    for key, limit in (("action", ACTION_NAME_LENGTH), ("resource", RESOURCE_NAME_LENGTH)):
        if key not in item:
            continue  # not required by the schema; a missing one is caught when the pair is built
        value = item[key]
        found = ["Field may not be null."] if value is None else _fields_errors(value, ("name",), ("name",),
                                                                                 {"name": limit})
        if found:
            errors[key] = found
    for key in sorted(set(item) - {"action", "resource"}):
        errors[key] = [UNKNOWN]
    return errors


# --- marshmallow-like checks ----------------------------------------------------------------

def _fields_errors(body: Mapping[str, Any], fields: Sequence[str], required: Sequence[str],
                   lengths: Mapping[str, int]) -> ErrorTree:
    errors: ErrorTree = {}
    for name in fields:
        if name not in body:
            if name in required:
                errors[name] = [MISSING]
            continue
        value, limit = body[name], lengths.get(name)
        if limit is not None and isinstance(value, str) and len(value) > limit:
            errors[name] = [f"Longer than maximum length {limit}."]
    for name in sorted(set(body) - set(fields)):
        errors[name] = [UNKNOWN]
    return errors


def _list_errors(items: Sequence[Any], check: Callable[[Mapping[str, Any]], ErrorTree]) -> ErrorTree:
    errors: ErrorTree = {}
    for index, item in enumerate(items):
        found: Any = ["Field may not be null."] if item is None else check(item)
        if found:
            errors[index] = found
    return errors


def _insert_in_order(errors: ErrorTree, key: str, value: Any, fields: Sequence[str]) -> ErrorTree:
    """marshmallow reports declared fields in order, then unknown ones."""
    merged = {**errors, key: value}
    rank = {name: position for position, name in enumerate(fields)}
    return dict(sorted(merged.items(), key=lambda kv: rank.get(kv[0], len(fields))))
