"""Variables: fixture reading, wire shape and rules (upsert on POST, Airflow's update_mask names)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mockflow.api.bodies import load_errors
from mockflow.problems import BadRequest, NotFound
from mockflow.store.records import Variable
from mockflow.store.state import JSON, State

SCHEMA_TITLE = "Invalid Variable schema"
LOADABLE = ("key", "value", "description")  # VariableSchema, in declared order
KEY_LENGTH = 250  # variable.key is String(ID_LEN)
# update_mask names are the loaded attribute names: `value` is stored as `val`.
MASK_NAMES = {"val": "value", "description": "description"}


def variable_to_wire(variable: Variable) -> JSON:
    return {"key": variable.key, "value": variable.value, "description": variable.description}


def variables_by_id(state: State) -> list[Variable]:
    return sorted(state.variables.values(), key=lambda variable: variable.id)


def find_variable(state: State, key: str) -> Variable:
    variable = state.variables.get(key)
    if variable is None:
        raise NotFound(None, title="Variable not found")
    return variable


def set_variable(state: State, body: Mapping[str, Any]) -> JSON:
    """POST: an upsert that, like `Variable.set`, deletes any old row and adds a new one (new id,
    description null). The answer echoes the request data, description included when sent."""
    _load(body)
    key = body["key"]
    if key == "":
        # The real server stores it, and then no URL can reach it again.
        raise BadRequest("{'key': ['Shorter than minimum length 1.']}", title=SCHEMA_TITLE)
    state.variables.pop(key, None)
    state.variables[key] = Variable(key=key, value=body["value"], description=None, id=state.next_id("variables"))
    return {name: body[name] for name in LOADABLE if name in body}


def update_variable(state: State, key: str, body: Mapping[str, Any], update_mask: Sequence[str] | None) -> Variable:
    """PATCH in Airflow's order: full body load, key match, lookup, then the mask."""
    _load(body)
    if body["key"] != key:
        raise BadRequest("key from request body doesn't match uri parameter", title="Invalid post body")
    # The real server crashes on a missing variable (500 HTML); GET's 404 is the nearest answer.
    variable = find_variable(state, key)
    if update_mask:
        changes = _masked_changes(body, update_mask)
    else:
        changes = {name: body[name] for name in ("value", "description") if name in body}
    variable.value = changes.get("value", variable.value)
    variable.description = changes.get("description", variable.description)
    return variable


def delete_variable(state: State, key: str) -> None:
    find_variable(state, key)
    del state.variables[key]


def _load(body: Mapping[str, Any]) -> None:
    error = load_errors(body, LOADABLE, required=("key", "value"), max_lengths={"key": KEY_LENGTH})
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
