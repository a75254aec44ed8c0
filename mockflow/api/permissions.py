"""get_permissions: the list of actions (not action-resource pairs), in storage order."""

from __future__ import annotations

from mockflow.api.context import Call
from mockflow.pagination import page
from mockflow.store.state import JSON


def get_permissions(call: Call) -> JSON:
    actions = call.state.actions
    return {"actions": [{"name": name} for name in page(actions, call.query)], "total_entries": len(actions)}
