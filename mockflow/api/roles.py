"""get_roles, get_role, post_role, patch_role, delete_role (rules in store/security.py)."""

from __future__ import annotations

from mockflow.api.context import NO_CONTENT, Call, Reply
from mockflow.pagination import page, page_limit
from mockflow.store import security
from mockflow.store.state import JSON


def get_roles(call: Call) -> JSON:
    page_limit(call.query.get("limit"))  # Airflow checks the limit before the ordering
    rows = security.roles_ordered(call.state, call.query.get("order_by"))
    return {"roles": [security.role_to_wire(r) for r in page(rows, call.query)], "total_entries": len(rows)}


def get_role(call: Call) -> JSON:
    return security.role_to_wire(security.find_role(call.state, call.path["role_name"]))


def post_role(call: Call) -> JSON:
    # Airflow dumps the role it looked up before creating it (None): the answer is `{}`.
    security.create_role(call.state, call.body)
    return {}


def patch_role(call: Call) -> JSON:
    role = security.update_role(call.state, call.path["role_name"], call.body, call.query.get("update_mask"))
    return security.role_to_wire(role)


def delete_role(call: Call) -> Reply:
    security.delete_role(call.state, call.path["role_name"])
    return NO_CONTENT
