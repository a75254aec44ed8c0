"""Pools: fixture reading, wire shape (slot figures derived from task instances) and rules."""

from __future__ import annotations

from typing import Any

from mockflow.store.records import Pool
from mockflow.store.state import JSON, State


def load_pools(state: State, data: Any, source: str) -> None:
    for item in data:
        existing = state.pools.get(item["name"])
        state.pools[item["name"]] = Pool(
            name=item["name"],
            slots=int(item["slots"]),
            description=item.get("description"),
            id=existing.id if existing else state.next_id("pools"),
        )


def slot_usage(state: State, pool_name: str) -> dict[str, int]:
    """Sums of `pool_slots` over the task instances in this pool, by state."""
    usage = {"running": 0, "queued": 0, "scheduled": 0}
    for ti in state.task_instances.values():
        if ti.pool == pool_name and ti.state in usage:
            usage[ti.state] += ti.pool_slots
    return usage


def pool_to_wire(state: State, pool: Pool) -> JSON:
    usage = slot_usage(state, pool.name)
    occupied = usage["running"] + usage["queued"]
    return {
        "name": pool.name,
        "slots": pool.slots,
        "occupied_slots": occupied,
        "running_slots": usage["running"],
        "queued_slots": usage["queued"],
        "scheduled_slots": usage["scheduled"],
        "open_slots": pool.slots - occupied,
        "description": pool.description,
    }
