"""Variables: fixture reading, wire shape and rules."""

from __future__ import annotations

from typing import Any

import orjson

from mockflow.store.records import Variable
from mockflow.store.state import JSON, State


def load_variables(state: State, data: Any, source: str) -> None:
    for item in data:
        value = item.get("value")
        if not isinstance(value, str):
            # A fixture may give a JSON value directly; Airflow stores variables as text.
            value = orjson.dumps(value).decode()
        existing = state.variables.get(item["key"])
        state.variables[item["key"]] = Variable(
            key=item["key"],
            value=value,
            description=item.get("description"),
            id=existing.id if existing else state.next_id("variables"),
        )


def variable_to_wire(variable: Variable) -> JSON:
    return {"key": variable.key, "value": variable.value, "description": variable.description}
