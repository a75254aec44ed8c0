"""Users, roles and the action list: fixture reading and wire shapes. Rules live in users/roles handlers' store modules."""

from __future__ import annotations

from typing import Any

from mockflow.store.records import Role, User
from mockflow.store.state import JSON, State
from mockflow.wire import naive_iso, parse_datetime


def load_actions(state: State, data: Any, source: str) -> None:
    for item in data:
        name = item["name"] if isinstance(item, dict) else str(item)
        if name not in state.actions:
            state.actions.append(name)


def load_roles(state: State, data: Any, source: str) -> None:
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


def user_to_wire(user: User) -> JSON:
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
