"""Users: lookup and the rules of their changes (unique usernames and emails, known roles).

Usernames are case-insensitive (the table is keyed by the lower-cased name); emails and role
names are case-sensitive, as on Airflow 2.5.3 with its FAB security manager.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from mockflow.store.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from mockflow.store.records import User
from mockflow.store.state import State

DEFAULT_USER_ROLE = "Public"  # [fab] AUTH_USER_REGISTRATION_ROLE: what a user created without roles gets
PROFILE_FIELDS = ("first_name", "last_name", "email")


class Names(tuple[str, ...]):
    """Names a rule refused, in order. Formatted with the spec `reprs` they read `'a', 'b'`
    (how Airflow's texts list them); otherwise like a plain tuple."""

    __slots__ = ()

    def __format__(self, spec: str) -> str:
        if spec == "reprs":
            return ", ".join(repr(name) for name in self)
        return format(tuple(self), spec)


def users_by_id(state: State) -> list[User]:
    return sorted(state.users.values(), key=lambda user: user.id)


def user_by_email(state: State, email: str) -> User | None:
    return next((user for user in state.users.values() if user.email == email), None)


def find_user(state: State, username: str) -> User:
    user = state.users.get(username.lower())
    if user is None:
        raise NotFoundError("user_not_found", username=username)
    return user


def create_user(state: State, *, username: str, email: str, first_name: str, last_name: str,
                roles: Sequence[str], password: str | None, now: datetime) -> User:
    """Username clash, email clash, unknown roles; no roles means `Public`."""
    if username.lower() in state.users:
        raise AlreadyExistsError("user_exists", username=username)
    if user_by_email(state, email) is not None:
        raise AlreadyExistsError("user_email_taken", email=email)
    granted = _known_roles(state, roles) or [DEFAULT_USER_ROLE]
    _refuse_repeated_roles(username, granted)
    user = User(
        username=username, email=email, first_name=first_name, last_name=last_name, roles=granted,
        active=True, password=password, created_on=now, changed_on=now, id=state.next_id("users"),
    )
    state.changes.put(state.users, username.lower(), user)
    return user


def refuse_clashes(state: State, username: str, new_username: str | None, email: str | None) -> User:
    """The user at `username` (as typed in the URL), if neither new name nor email is taken.
    Airflow runs this on the whole body, before it applies an update mask."""
    user = find_user(state, username)
    if new_username is not None and new_username != username and new_username.lower() in state.users:
        raise AlreadyExistsError("user_exists", username=new_username)
    if email is not None and email != user.email and user_by_email(state, email) is not None:
        raise AlreadyExistsError("user_email_taken", email=email)
    return user


def update_user(state: State, username: str, changes: Mapping[str, Any]) -> User:
    """`changes` holds checked profile fields, `username`, `password` and `roles` (names).
    `changed_on` stays, as on the real server."""
    user = refuse_clashes(state, username, changes.get("username"), changes.get("email"))
    roles = _known_roles(state, changes["roles"]) if "roles" in changes else None
    if roles is not None:
        _refuse_repeated_roles(user.username, roles)
    if "password" in changes:
        state.changes.set(user, password=changes["password"])
    if roles is not None:
        state.changes.set(user, roles=roles)
    state.changes.set(user, **{field: changes[field] for field in PROFILE_FIELDS if field in changes})
    if "username" in changes and changes["username"] != user.username:
        _rename(state, user, changes["username"])
    return user


def delete_user(state: State, username: str) -> None:
    user = find_user(state, username)
    state.changes.pop(state.users, user.username.lower())


def _known_roles(state: State, names: Sequence[str]) -> list[str]:
    unknown = [name for name in names if name not in state.roles]
    if unknown:
        raise InvalidInputError("user_roles_unknown", roles=Names(unknown))
    return list(names)


def _refuse_repeated_roles(username: str, roles: Sequence[str]) -> None:
    # Airflow's user-role link table is unique per pair: the insert fails (a 500 on the real server).
    repeated = sorted({name for name in roles if roles.count(name) > 1})
    if repeated:
        raise InvalidInputError("user_roles_repeated", username=username, roles=Names(repeated))


def _rename(state: State, user: User, new_username: str) -> None:
    """A new key in the same place, so the table keeps its id order."""
    old_key = user.username.lower()
    state.changes.set(user, username=new_username)
    state.changes.set(state, users={(new_username.lower() if key == old_key else key): value
                                    for key, value in state.users.items()})
