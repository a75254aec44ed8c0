"""get_plugins: paged in memory with the standard limit check."""

from __future__ import annotations

from mockflow.api.context import Call
from mockflow.pagination import page
from mockflow.store.state import JSON


def get_plugins(call: Call) -> JSON:
    plugins = call.state.plugins
    return {"plugins": page(plugins, call.query), "total_entries": len(plugins)}
