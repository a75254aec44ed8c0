"""The pool object: stored slots plus the slot figures derived from task instances."""

from __future__ import annotations

from collections.abc import Mapping

from mockflow.store.pools import all_slot_usage
from mockflow.store.records import Pool
from mockflow.store.state import JSON, State


def pool_to_wire(state: State, pool: Pool, usage: Mapping[str, Mapping[str, int]] | None = None) -> JSON:
    counts = (usage if usage is not None else all_slot_usage(state)).get(pool.name, {})
    running, queued = counts.get("running", 0), counts.get("queued", 0)
    occupied = running + queued
    return {
        "name": pool.name,
        "slots": pool.slots,
        "occupied_slots": occupied,
        "running_slots": running,
        "queued_slots": queued,
        "scheduled_slots": counts.get("scheduled", 0),
        "open_slots": pool.slots - occupied,
        "description": pool.description,
    }
