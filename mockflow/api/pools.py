"""get_pools, get_pool, post_pool, patch_pool, delete_pool (rules in store/pools.py).

Bodies and update masks are checked here, in Airflow's order, before the store applies them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mockflow.api.bodies import load_errors
from mockflow.api.context import NO_CONTENT, Call, Reply
from mockflow.api.shapes.pools import pool_to_wire
from mockflow.pagination import by_attributes, ordered, page
from mockflow.problems import BadRequest
from mockflow.store import pools
from mockflow.store.state import JSON

ORDER_COLUMNS = by_attributes("name", "slots", "id")
NAME_LENGTH = 256  # slot_pool.pool is String(256)
LOADABLE = ("name", "slots", "description")  # PoolSchema's loadable fields, in declared order
READ_ONLY = ("occupied_slots", "running_slots", "queued_slots", "scheduled_slots", "open_slots")


def get_pools(call: Call) -> JSON:
    rows = ordered(pools.pools_by_id(call.state), call.query.get("order_by"), ORDER_COLUMNS, "id")
    usage = pools.all_slot_usage(call.state)
    return {"pools": [pool_to_wire(call.state, p, usage) for p in page(rows, call.query)],
            "total_entries": len(rows)}


def get_pool(call: Call) -> JSON:
    return pool_to_wire(call.state, pools.find_pool(call.state, call.path["pool_name"]))


def post_pool(call: Call) -> JSON:
    body = call.body
    _require_name_and_slots(body)
    _load(body)
    pool = pools.create_pool(call.state, body["name"], body["slots"], body.get("description"))
    return pool_to_wire(call.state, pool)


def patch_pool(call: Call) -> JSON:
    """Airflow's order: default-pool name, 404, body load, then mask or full replace."""
    name, body, update_mask = call.path["pool_name"], call.body, call.query.get("update_mask")
    mask = [field.strip() for field in update_mask] if update_mask else None
    if mask != ["slots"]:
        pools.refuse_default_rename(name, body.get("name"))
    pools.find_pool(call.state, name)
    _load(body)
    if mask is not None:
        changes = _masked_changes(body, mask)
    else:
        _require_name_and_slots(body)
        changes = {field: body[field] for field in LOADABLE if field in body}
    return pool_to_wire(call.state, pools.update_pool(call.state, name, changes))


def delete_pool(call: Call) -> Reply:
    pools.delete_pool(call.state, call.path["pool_name"])
    return NO_CONTENT


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
