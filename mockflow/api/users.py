"""get_users, get_user, post_user, patch_user, delete_user (rules in store/security.py)."""

from __future__ import annotations

from mockflow.api.context import NO_CONTENT, Call, Reply
from mockflow.pagination import page, page_limit
from mockflow.store import security
from mockflow.store.state import JSON


def get_users(call: Call) -> JSON:
    page_limit(call.query.get("limit"))  # Airflow checks the limit before the ordering
    rows = security.users_ordered(call.state, call.query.get("order_by"))
    return {"users": [security.user_to_wire(u) for u in page(rows, call.query)], "total_entries": len(rows)}


def get_user(call: Call) -> JSON:
    return security.user_to_wire(security.find_user(call.state, call.path["username"]))


def post_user(call: Call) -> JSON:
    return security.user_to_wire(security.create_user(call.state, call.body, call.now))


def patch_user(call: Call) -> JSON:
    user = security.update_user(call.state, call.path["username"], call.body, call.query.get("update_mask"))
    return security.user_to_wire(user)


def delete_user(call: Call) -> Reply:
    security.delete_user(call.state, call.path["username"])
    return NO_CONTENT
