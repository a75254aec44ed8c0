"""Pools: fixture reading, wire shape (slot figures derived from task instances) and rules.

Slot figures are never stored: each answer sums `pool_slots` over the task instances that name
the pool, by state (behaviour reference, Pool).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mockflow.api.bodies import load_errors
from mockflow.problems import AlreadyExists, BadRequest, NotFound
from mockflow.store.records import Pool
from mockflow.store.state import JSON, State

DEFAULT_POOL = "default_pool"
UNLIMITED = -1  # Airflow's "no limit" value; 2.5.3 then reports open_slots as infinity
NAME_LENGTH = 256  # slot_pool.pool is String(256)
LOADABLE = ("name", "slots", "description")  # PoolSchema's loadable fields, in declared order
READ_ONLY = ("occupied_slots", "running_slots", "queued_slots", "scheduled_slots", "open_slots")
COUNTED_STATES = ("running", "queued", "scheduled")


# --- wire -----------------------------------------------------------------------------------

def slot_usage(state: State, pool_name: str) -> dict[str, int]:
    """Sums of `pool_slots` over the task instances in this pool, by state."""
    return all_slot_usage(state).get(pool_name, dict.fromkeys(COUNTED_STATES, 0))


def all_slot_usage(state: State) -> dict[str, dict[str, int]]:
    """Usage of every pool, from the state index: only running, queued and scheduled task
    instances are read (a handful, even among a million)."""
    usage: dict[str, dict[str, int]] = {}
    for ti_state in COUNTED_STATES:
        for ti in (state.tis_by_state.get(ti_state) or {}).values():
            counts = usage.setdefault(ti.pool, dict.fromkeys(COUNTED_STATES, 0))
            counts[ti_state] += ti.pool_slots
    return usage


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


# --- rules ----------------------------------------------------------------------------------

def pools_by_id(state: State) -> list[Pool]:
    return sorted(state.pools.values(), key=lambda pool: pool.id)


def find_pool(state: State, name: str) -> Pool:
    pool = state.pools.get(name)
    if pool is None:
        raise NotFound(f"Pool with name:'{name}' not found")
    return pool


def create_pool(state: State, body: Mapping[str, Any]) -> Pool:
    _require_name_and_slots(body)
    _load(body)
    _check_values(body)
    name = body["name"]
    if name in state.pools:
        raise AlreadyExists(f"Pool: {name} already exists")
    pool = Pool(name=name, slots=body["slots"], description=body.get("description"), id=state.next_id("pools"))
    state.pools[name] = pool
    return pool


def update_pool(state: State, pool_name: str, body: Mapping[str, Any], update_mask: Sequence[str] | None) -> Pool:
    """PATCH in Airflow's order: default-pool name, 404, body load, then mask or full replace."""
    mask = [field.strip() for field in update_mask] if update_mask else None
    if pool_name == DEFAULT_POOL and "name" in body and body["name"] != DEFAULT_POOL and mask != ["slots"]:
        raise BadRequest("Default Pool's name can't be modified")
    pool = find_pool(state, pool_name)
    _load(body)
    if mask is not None:
        changes = _masked_changes(body, mask)
    else:
        _require_name_and_slots(body)
        changes = {field: body[field] for field in LOADABLE if field in body}
    _check_values(changes)
    new_name = changes.get("name", pool.name)
    if new_name != pool.name and new_name in state.pools:
        # The real server crashes here (IntegrityError, 500 HTML); the spec documents a 409.
        raise AlreadyExists(f"Pool: {new_name} already exists")
    pool.slots = changes.get("slots", pool.slots)
    pool.description = changes.get("description", pool.description)
    if new_name != pool.name:
        _rename(state, pool, new_name)
    return pool


def delete_pool(state: State, pool_name: str) -> None:
    if pool_name == DEFAULT_POOL:
        raise BadRequest("Default Pool can't be deleted")
    find_pool(state, pool_name)
    del state.pools[pool_name]


def _require_name_and_slots(body: Mapping[str, Any]) -> None:
    missing = sorted({"name", "slots"} - set(body))
    if missing:
        raise BadRequest(f"Missing required property(ies): {missing}")


def _load(body: Mapping[str, Any]) -> None:
    error = load_errors(body, LOADABLE, max_lengths={"name": NAME_LENGTH})
    if error:
        raise BadRequest(error)


def _masked_changes(body: Mapping[str, Any], mask: Sequence[str]) -> dict[str, Any]:
    for field in mask:
        if field not in LOADABLE and field not in READ_ONLY:
            raise BadRequest(f"Invalid field: {field} in update mask")
    for field in mask:
        # Both cases crash the real server (KeyError, 500 HTML).
        if field in READ_ONLY:
            raise BadRequest(f"'{field}' is read-only and cannot be updated")
        if field not in body:
            raise BadRequest(f"'{field}' is in update_mask but missing from the request body")
    return {field: body[field] for field in mask}


def _check_values(changes: Mapping[str, Any]) -> None:
    """What the real server stores but cannot serve afterwards: refused up front."""
    if changes.get("slots") == UNLIMITED:
        raise BadRequest("slots -1 (unlimited) is not supported: Airflow 2.5.3 cannot serve such a pool "
                         "(its open_slots would be infinite)")
    if changes.get("name") == "":
        raise BadRequest("Pool name cannot be empty")


def _rename(state: State, pool: Pool, new_name: str) -> None:
    """A new key in the same place, so the `id` order of the table is kept."""
    old_name = pool.name
    pool.name = new_name
    state.pools = {(new_name if key == old_name else key): value for key, value in state.pools.items()}
