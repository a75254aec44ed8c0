"""limit, offset, order_by and `total_entries`, shared by every list endpoint."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from mockflow.problems import BadRequest

T = TypeVar("T")

MAXIMUM_PAGE_LIMIT = 100  # [api] maximum_page_limit
FALLBACK_PAGE_LIMIT = 100  # [api] fallback_page_limit


def page_limit(requested: int | None) -> int:
    """Airflow's standard limit check: 0 means the fallback, negatives are refused, big ones clamped."""
    if requested is None:
        return FALLBACK_PAGE_LIMIT
    if requested < 0:
        raise BadRequest(None, title="Page limit must be a positive integer")
    if requested == 0:
        return FALLBACK_PAGE_LIMIT
    return min(requested, MAXIMUM_PAGE_LIMIT)


def page(rows: Sequence[T], query: Mapping[str, Any], *, checked_limit: bool = True) -> list[T]:
    """One page of `rows`. `checked_limit=False` is for the lists Airflow leaves unchecked
    (task instances): there 0 gives nothing and a negative limit gives everything."""
    offset = int(query.get("offset") or 0)
    raw_limit = query.get("limit")
    if checked_limit:
        limit: int | None = page_limit(raw_limit)
    else:
        limit = 100 if raw_limit is None else raw_limit
        if limit is not None and limit < 0:
            limit = None
    rows = rows[offset:]
    return list(rows if limit is None else rows[:limit])


def by_attributes(*names: str) -> dict[str, Callable[[Any], Any]]:
    """Sort columns for `ordered` where the API name is the record's attribute name."""
    return {name: operator.attrgetter(name) for name in names}


def ordered(
    rows: Sequence[T],
    order_by: str | None,
    columns: Mapping[str, Callable[[T], Any]],
    default: str,
    *,
    allow_descending: bool = True,
    backward: frozenset[str] = frozenset(),
) -> list[T]:
    """Sort like SQL `ORDER BY` on one column (NULLs first ascending, last descending).

    `columns` maps each allowed API name to the value it sorts by; anything else is a 400 with
    Airflow's text. Users and roles check the raw value, so `allow_descending=False` makes a
    leading `-` part of the (then unknown) name. Ties keep the rows' order, except for the
    `backward` columns: SQLite reads their descending order by walking an index from its end,
    which reverses ties too (observed on a real 2.5.3).
    """
    name = default if order_by is None else order_by
    descending = allow_descending and name.startswith("-")
    column = name[1:] if descending else name
    key = columns.get(column)
    if key is None:
        raise BadRequest(f"Ordering with '{column if allow_descending else name}' is disallowed or the "
                         "attribute does not exist on the model")
    if descending and column in backward:
        return sorted(rows, key=lambda row: _sql_key(key(row)))[::-1]
    return sorted(rows, key=lambda row: _sql_key(key(row)), reverse=descending)


def _sql_key(value: Any) -> tuple[bool, Any]:
    return (value is not None, value if value is not None else 0)
