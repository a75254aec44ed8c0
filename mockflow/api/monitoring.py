"""get_health and get_version: no credentials needed."""

from __future__ import annotations

from mockflow.api.context import Call
from mockflow.store.state import JSON
from mockflow.wire import iso


def get_health(call: Call) -> JSON:
    # mockflow's scheduler is the store itself: always up, heartbeat now.
    return {
        "metadatabase": {"status": "healthy"},
        "scheduler": {"status": "healthy", "latest_scheduler_heartbeat": iso(call.now)},
    }


def get_version(call: Call) -> JSON:
    return dict(call.state.version)
