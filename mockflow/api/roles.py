"""get_roles, get_role, post_role, patch_role, delete_role (rules in store/roles.py).

Bodies and update masks are checked here, the way Airflow's RoleSchema loads them, in the real
server's order around the store's checks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mockflow.api.bodies import MISSING, NULL, UNKNOWN, ErrorTree, field_errors, insert_in_order, list_errors
from mockflow.api.context import NO_CONTENT, Call, Reply
from mockflow.api.shapes.security import role_to_wire
from mockflow.pagination import ordered, page, page_limit
from mockflow.problems import BadRequest
from mockflow.store import roles
from mockflow.store.records import Role
from mockflow.store.roles import Permission
from mockflow.store.state import JSON

ROLE_FIELDS = ("name", "actions")
ROLE_NAME_LENGTH, ACTION_NAME_LENGTH, RESOURCE_NAME_LENGTH = 64, 100, 250

ROLE_ORDER: dict[str, Callable[[Role], Any]] = {
    "name": lambda role: role.name,
    "role_id": lambda role: role.id,
}


def get_roles(call: Call) -> JSON:
    page_limit(call.query.get("limit"))  # Airflow checks the limit before the ordering
    rows = ordered(roles.roles_by_id(call.state), call.query.get("order_by"), ROLE_ORDER, "name",
                   allow_descending=False)
    return {"roles": [role_to_wire(r) for r in page(rows, call.query)], "total_entries": len(rows)}


def get_role(call: Call) -> JSON:
    return role_to_wire(roles.find_role(call.state, call.path["role_name"]))


def post_role(call: Call) -> JSON:
    """Load, 409, the actions' shape, then every action and resource must exist."""
    body = call.body
    _load_role(body)
    roles.refuse_existing(call.state, body["name"])
    if "actions" not in body:
        # The real server crashes here (KeyError, 500 HTML).
        raise BadRequest(str({"actions": [MISSING]}))
    roles.create_role(call.state, body["name"], _permissions(body["actions"]))
    # Airflow dumps the role it looked up before creating it (None): the answer is `{}`.
    return {}


def patch_role(call: Call) -> JSON:
    """Load, 404, mask, the actions' shape; listed permissions are added; a new name renames."""
    role_name, body, update_mask = call.path["role_name"], call.body, call.query.get("update_mask")
    _load_role(body)
    roles.find_role(call.state, role_name)
    changes = dict(body) if update_mask is None else _role_mask(body, update_mask)
    permissions = _permissions(changes["actions"]) if "actions" in changes else []
    return role_to_wire(roles.update_role(call.state, role_name, changes.get("name"), permissions))


def delete_role(call: Call) -> Reply:
    roles.delete_role(call.state, call.path["role_name"])
    return NO_CONTENT


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


def _permissions(items: Sequence[Mapping[str, Any]]) -> list[Permission]:
    """(action, resource) pairs; empty items are skipped as Airflow does."""
    for index, item in enumerate(items):
        if item and ("action" not in item or "resource" not in item):
            # The real server crashes on such an item (KeyError, 500 HTML).
            missing = "action" if "action" not in item else "resource"
            raise BadRequest(str({"actions": {index: {missing: [MISSING]}}}))
    return [(item["action"]["name"], item["resource"]["name"]) for item in items if item]


def _load_role(body: Mapping[str, Any]) -> None:
    errors = field_errors(body, ROLE_FIELDS, ("name",), {"name": ROLE_NAME_LENGTH})
    if isinstance(body.get("actions"), list):
        nested = list_errors(body["actions"], _action_resource_errors)
        if nested:
            errors = insert_in_order(errors, "actions", nested, ROLE_FIELDS)
    if errors:
        raise BadRequest(str(errors))


def _action_resource_errors(item: Mapping[str, Any]) -> ErrorTree:
    errors: ErrorTree = {}
    for key, limit in (("action", ACTION_NAME_LENGTH), ("resource", RESOURCE_NAME_LENGTH)):
        if key not in item:
            continue  # not required by the schema; a missing one is caught when the pair is built
        value = item[key]
        found = [NULL] if value is None else field_errors(value, ("name",), ("name",), {"name": limit})
        if found:
            errors[key] = found
    for key in sorted(set(item) - {"action", "resource"}):
        errors[key] = [UNKNOWN]
    return errors
