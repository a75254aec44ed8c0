"""Variables: fixture reading and rules (POST is an upsert that replaces the row)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mockflow.store.errors import NotFoundError
from mockflow.store.records import Variable
from mockflow.store.state import State


def variables_by_id(state: State) -> list[Variable]:
    return sorted(state.variables.values(), key=lambda variable: variable.id)


def find_variable(state: State, key: str) -> Variable:
    variable = state.variables.get(key)
    if variable is None:
        raise NotFoundError("variable_not_found", key=key)
    return variable


def set_variable(state: State, key: str, value: str) -> Variable:
    """Like `Variable.set`: any old row is deleted and a new one added (new id, description null)."""
    state.changes.pop(state.variables, key, None)
    variable = Variable(key=key, value=value, description=None, id=state.next_id("variables"))
    state.changes.put(state.variables, key, variable)
    return variable


def update_variable(state: State, key: str, changes: Mapping[str, Any]) -> Variable:
    """`changes` holds checked `value` and `description` values; absent ones stay."""
    # The real server crashes on a missing variable (500 HTML); GET's 404 is the nearest answer.
    variable = find_variable(state, key)
    state.changes.set(variable, value=changes.get("value", variable.value),
                      description=changes.get("description", variable.description))
    return variable


def delete_variable(state: State, key: str) -> None:
    find_variable(state, key)
    state.changes.pop(state.variables, key)
