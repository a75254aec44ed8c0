"""The user and role objects."""

from __future__ import annotations

from mockflow.store.records import Role, User
from mockflow.store.state import JSON
from mockflow.wire import naive_iso


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
