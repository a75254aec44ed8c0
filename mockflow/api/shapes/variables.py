"""The variable object (list items carry `value` too, as on the real server)."""

from __future__ import annotations

from mockflow.store.records import Variable
from mockflow.store.state import JSON


def variable_to_wire(variable: Variable) -> JSON:
    return {"key": variable.key, "value": variable.value, "description": variable.description}
