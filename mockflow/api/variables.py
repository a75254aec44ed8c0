"""get_variables, get_variable, post_variables, patch_variable, delete_variable (rules in store/variables.py).

Bodies and update masks are checked here, the way VariableSchema loads them, before the store
applies them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mockflow.api.bodies import load_errors
from mockflow.api.context import NO_CONTENT, Call, Reply
from mockflow.api.shapes.variables import variable_to_wire
from mockflow.pagination import by_attributes, ordered, page
from mockflow.problems import BadRequest
from mockflow.store import variables
from mockflow.store.state import JSON

# `value` sorts by the stored text; `description` is not allowed (behaviour reference, Variable).
ORDER_COLUMNS = by_attributes("key", "value", "id")
SCHEMA_TITLE = "Invalid Variable schema"
LOADABLE = ("key", "value", "description")  # VariableSchema, in declared order
# update_mask names are the loaded attribute names: `value` is stored as `val`.
MASK_NAMES = {"val": "value", "description": "description"}


def get_variables(call: Call) -> JSON:
    rows = ordered(variables.variables_by_id(call.state), call.query.get("order_by"), ORDER_COLUMNS, "id")
    # List items carry `value` on the real server, although the spec's item schema lacks it.
    return {"variables": [variable_to_wire(v) for v in page(rows, call.query)],
            "total_entries": len(rows)}


def get_variable(call: Call) -> JSON:
    return variable_to_wire(variables.find_variable(call.state, call.path["variable_key"]))


def post_variables(call: Call) -> JSON:
    """The answer echoes the request data, description included when sent (the row has none)."""
    body = call.body
    _load(body)  # an empty key is stored, as on the real server: only the list can show it
    variables.set_variable(call.state, body["key"], body["value"])
    return {name: body[name] for name in LOADABLE if name in body}


def patch_variable(call: Call) -> JSON:
    """Airflow's order: full body load, key match, lookup, then the mask."""
    key, body, update_mask = call.path["variable_key"], call.body, call.query.get("update_mask")
    _load(body)
    if body["key"] != key:
        raise BadRequest("key from request body doesn't match uri parameter", title="Invalid post body")
    variables.find_variable(call.state, key)
    if update_mask:
        changes = _masked_changes(body, update_mask)
    else:
        changes = {name: body[name] for name in ("value", "description") if name in body}
    return variable_to_wire(variables.update_variable(call.state, key, changes))


def delete_variable(call: Call) -> Reply:
    variables.delete_variable(call.state, call.path["variable_key"])
    return NO_CONTENT


def _load(body: Mapping[str, Any]) -> None:
    # No length check: VariableSchema has none, and SQLite stores any length in `key` String(250).
    error = load_errors(body, LOADABLE, required=("key", "value"), not_null=("description",))
    if error:
        raise BadRequest(error, title=SCHEMA_TITLE)


def _masked_changes(body: Mapping[str, Any], update_mask: Sequence[str]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for raw in update_mask:
        field = raw.strip()
        wire_name = MASK_NAMES.get(field)
        if wire_name is None or wire_name not in body:
            raise BadRequest(f"'{field}' is unknown or cannot be updated.")
        changes[wire_name] = body[wire_name]
    return changes
