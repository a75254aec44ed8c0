"""get_variables, get_variable, post_variables, patch_variable, delete_variable (rules in store/variables.py)."""

from __future__ import annotations

from mockflow.api.context import NO_CONTENT, Call, Reply
from mockflow.pagination import by_attributes, ordered, page
from mockflow.store import variables
from mockflow.store.state import JSON

# `value` sorts by the stored text; `description` is not allowed (behaviour reference, Variable).
ORDER_COLUMNS = by_attributes("key", "value", "id")


def get_variables(call: Call) -> JSON:
    rows = ordered(variables.variables_by_id(call.state), call.query.get("order_by"), ORDER_COLUMNS, "id")
    # List items carry `value` on the real server, although the spec's item schema lacks it.
    return {"variables": [variables.variable_to_wire(v) for v in page(rows, call.query)],
            "total_entries": len(rows)}


def get_variable(call: Call) -> JSON:
    return variables.variable_to_wire(variables.find_variable(call.state, call.path["variable_key"]))


def post_variables(call: Call) -> JSON:
    return variables.set_variable(call.state, call.body)


def patch_variable(call: Call) -> JSON:
    variable = variables.update_variable(call.state, call.path["variable_key"], call.body,
                                         call.query.get("update_mask"))
    return variables.variable_to_wire(variable)


def delete_variable(call: Call) -> Reply:
    variables.delete_variable(call.state, call.path["variable_key"])
    return NO_CONTENT
