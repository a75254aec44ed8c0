"""Users, roles and the action list as fixtures load them, and FAB's login checks.

The rules of the users and roles API live in `store/users.py` and `store/roles.py`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mockflow.store.records import Role, User
from mockflow.store.state import State
from mockflow.store.users import user_by_email
from mockflow.wire import parse_datetime

# --- fixtures -------------------------------------------------------------------------------

def load_actions(state: State, data: Any, source: str) -> None:
    for item in data:
        name = item["name"] if isinstance(item, dict) else str(item)
        if name not in state.actions:
            state.actions.append(name)


def load_roles(state: State, data: Any, source: str) -> None:
    from mockflow.store.seed import ensure_default_roles

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
