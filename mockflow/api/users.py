"""get_users, get_user, post_user, patch_user, delete_user (rules in store/users.py).

Bodies and update masks are checked here, the way Airflow's UserSchema loads them, in the real
server's order around the store's checks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mockflow.api.bodies import field_errors, insert_in_order, list_errors
from mockflow.api.context import NO_CONTENT, Call, Reply
from mockflow.api.shapes.security import user_to_wire
from mockflow.pagination import ordered, page, page_limit
from mockflow.problems import BadRequest
from mockflow.store import users
from mockflow.store.records import User
from mockflow.store.state import JSON

# UserSchema: loadable fields in declared order, required ones, column lengths.
USER_FIELDS = ("first_name", "last_name", "username", "email", "roles", "password")
USER_REQUIRED = ("first_name", "last_name", "username", "email")
USER_LENGTHS = {"first_name": 64, "last_name": 64, "username": 64, "email": 64, "password": 256}
ROLE_NAME_LENGTH = 64

USER_ORDER: dict[str, Callable[[User], Any]] = {
    "id": lambda user: user.id,
    "first_name": lambda user: user.first_name,
    "last_name": lambda user: user.last_name,
    "email": lambda user: user.email,
}


def get_users(call: Call) -> JSON:
    page_limit(call.query.get("limit"))  # Airflow checks the limit before the ordering
    # `order_by` is matched raw: no `-` prefix. Airflow also allows `user_name`, `is_active` and
    # `role`, then crashes on them (no such attribute); mockflow refuses them with the same 400.
    rows = ordered(users.users_by_id(call.state), call.query.get("order_by"), USER_ORDER, "id",
                   allow_descending=False)
    return {"users": [user_to_wire(u) for u in page(rows, call.query)], "total_entries": len(rows)}


def get_user(call: Call) -> JSON:
    return user_to_wire(users.find_user(call.state, call.path["username"]))


def post_user(call: Call) -> JSON:
    body = call.body
    _load_user(body)
    user = users.create_user(
        call.state, username=body["username"], email=body["email"], first_name=body["first_name"],
        last_name=body["last_name"], roles=_role_names(body.get("roles") or []), password=body.get("password"),
        now=call.now,
    )
    return user_to_wire(user)


def patch_user(call: Call) -> JSON:
    """Airflow's order: full load, 404 and clashes on the whole body, then the mask, then roles."""
    username, body, update_mask = call.path["username"], call.body, call.query.get("update_mask")
    _load_user(body)
    users.refuse_clashes(call.state, username, body["username"], body["email"])
    changes = dict(body) if update_mask is None else _masked(body, update_mask)
    if "roles" in changes:
        changes["roles"] = _role_names(changes["roles"])
    return user_to_wire(users.update_user(call.state, username, changes))


def delete_user(call: Call) -> Reply:
    users.delete_user(call.state, call.path["username"])
    return NO_CONTENT


def _role_names(items: Sequence[Mapping[str, Any]]) -> list[str]:
    return [item["name"] for item in items]


def _masked(body: Mapping[str, Any], update_mask: Sequence[str]) -> dict[str, Any]:
    fields = [name.strip() for name in update_mask]
    missing = [name for name in fields if name not in body]
    if missing:
        raise BadRequest(f"Unknown update masks: {', '.join(repr(name) for name in missing)}")
    return {name: body[name] for name in fields}


def _load_user(body: Mapping[str, Any]) -> None:
    errors = field_errors(body, USER_FIELDS, USER_REQUIRED, USER_LENGTHS)
    if "roles" in body and isinstance(body["roles"], list):
        nested = list_errors(body["roles"], lambda item: field_errors(item, ("name",), ("name",),
                                                                      {"name": ROLE_NAME_LENGTH}))
        if nested:
            errors = insert_in_order(errors, "roles", nested, USER_FIELDS)
    if errors:
        raise BadRequest(str(errors))
