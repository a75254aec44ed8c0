"""get_pools, get_pool, post_pool, patch_pool, delete_pool (rules in store/pools.py)."""

from __future__ import annotations

from mockflow.api.context import NO_CONTENT, Call, Reply
from mockflow.pagination import by_attributes, ordered, page
from mockflow.store import pools
from mockflow.store.state import JSON

ORDER_COLUMNS = by_attributes("name", "slots", "id")


def get_pools(call: Call) -> JSON:
    rows = ordered(pools.pools_by_id(call.state), call.query.get("order_by"), ORDER_COLUMNS, "id")
    usage = pools.all_slot_usage(call.state)
    return {"pools": [pools.pool_to_wire(call.state, p, usage) for p in page(rows, call.query)],
            "total_entries": len(rows)}


def get_pool(call: Call) -> JSON:
    return pools.pool_to_wire(call.state, pools.find_pool(call.state, call.path["pool_name"]))


def post_pool(call: Call) -> JSON:
    return pools.pool_to_wire(call.state, pools.create_pool(call.state, call.body))


def patch_pool(call: Call) -> JSON:
    pool = pools.update_pool(call.state, call.path["pool_name"], call.body, call.query.get("update_mask"))
    return pools.pool_to_wire(call.state, pool)


def delete_pool(call: Call) -> Reply:
    pools.delete_pool(call.state, call.path["pool_name"])
    return NO_CONTENT
