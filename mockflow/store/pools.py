"""Pools: fixture reading, slot figures (derived from task instances) and the rules of changes.

Slot figures are not stored with the pool: they are the sums of `pool_slots` over the task
instances that name the pool, by state (behaviour reference, Pool), which the task-instance table
keeps up to date as its rows change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mockflow.store.errors import AlreadyExistsError, InvalidInputError, NotFoundError
from mockflow.store.records import Pool
from mockflow.store.state import State

DEFAULT_POOL = "default_pool"
UNLIMITED = -1  # Airflow's "no limit" value; 2.5.3 then reports open_slots as infinity
COUNTED_STATES = ("running", "queued", "scheduled")


# --- slot figures ---------------------------------------------------------------------------

def slot_usage(state: State, pool_name: str) -> dict[str, int]:
    """Sums of `pool_slots` over the task instances in this pool, by state."""
    return all_slot_usage(state).get(pool_name, dict.fromkeys(COUNTED_STATES, 0))


def all_slot_usage(state: State) -> dict[str, dict[str, int]]:
    """Usage of every pool that has counted task instances, from the task-instance table's
    per-pool sums (kept as rows change, so no task instance is read)."""
    return {pool: {ti_state: by_state.get(ti_state, 0) for ti_state in COUNTED_STATES}
            for pool, by_state in state.task_instances.slots_by_pool.items()
            if any(ti_state in by_state for ti_state in COUNTED_STATES)}


# --- rules ----------------------------------------------------------------------------------

def pools_by_id(state: State) -> list[Pool]:
    return sorted(state.pools.values(), key=lambda pool: pool.id)


def find_pool(state: State, name: str) -> Pool:
    pool = state.pools.get(name)
    if pool is None:
        raise NotFoundError("pool_not_found", name=name)
    return pool


def create_pool(state: State, name: str, slots: int, description: str | None) -> Pool:
    _check_values({"name": name, "slots": slots})
    if name in state.pools:
        raise AlreadyExistsError("pool_exists", name=name)
    pool = Pool(name=name, slots=slots, description=description, id=state.next_id("pools"))
    state.changes.put(state.pools, name, pool)
    return pool


def refuse_default_rename(pool_name: str, new_name: str | None) -> None:
    """Airflow checks this before it looks the pool up (so before a 404)."""
    if pool_name == DEFAULT_POOL and new_name is not None and new_name != DEFAULT_POOL:
        raise InvalidInputError("default_pool_rename", name=pool_name, new_name=new_name)


def update_pool(state: State, pool_name: str, changes: Mapping[str, Any]) -> Pool:
    """`changes` holds checked `name`, `slots` and `description` values; absent ones stay."""
    refuse_default_rename(pool_name, changes.get("name"))
    pool = find_pool(state, pool_name)
    _check_values(changes)
    new_name = changes.get("name", pool.name)
    if new_name != pool.name and new_name in state.pools:
        # The real server crashes here (IntegrityError, 500 HTML); the spec documents a 409.
        raise AlreadyExistsError("pool_exists", name=new_name)
    state.changes.set(pool, slots=changes.get("slots", pool.slots),
                      description=changes.get("description", pool.description))
    if new_name != pool.name:
        _rename(state, pool, new_name)
    return pool


def delete_pool(state: State, pool_name: str) -> None:
    if pool_name == DEFAULT_POOL:
        raise InvalidInputError("default_pool_delete", name=pool_name)
    find_pool(state, pool_name)
    state.changes.pop(state.pools, pool_name)


def _check_values(changes: Mapping[str, Any]) -> None:
    """What the real server stores but then cannot serve (every answer with the pool is a 500):
    refused up front. An empty name is stored, as there: only the list can show that pool."""
    if changes.get("slots") == UNLIMITED:
        raise InvalidInputError("pool_slots_unlimited", slots=UNLIMITED)


def _rename(state: State, pool: Pool, new_name: str) -> None:
    """A new key in the same place, so the `id` order of the table is kept."""
    old_name = pool.name
    state.changes.set(pool, name=new_name)
    state.changes.set(state, pools={(new_name if key == old_name else key): value
                                    for key, value in state.pools.items()})
