"""get_providers: not paginated; query parameters are ignored."""

from __future__ import annotations

from mockflow.api.context import Call
from mockflow.store.state import JSON


def get_providers(call: Call) -> JSON:
    providers = call.state.providers
    return {"providers": list(providers), "total_entries": len(providers)}
