"""The second stage of body checking that Airflow's handlers run after the spec (marshmallow loads).

The real server reports these as the Python repr of an error dict, fields in the schema's declared
order, then unknown fields: `{'conn_type': ['Missing data for required field.']}`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

MISSING = "Missing data for required field."
UNKNOWN = "Unknown field."
NULL = "Field may not be null."

ErrorTree = dict[Any, Any]


def load_errors(
    body: Mapping[str, Any],
    fields: Sequence[str],
    *,
    required: Sequence[str] = (),
    max_lengths: Mapping[str, int] | None = None,
    not_null: Sequence[str] = (),
) -> str | None:
    """The marshmallow error text for `body`, or None when it loads cleanly.

    `fields` are the loadable names in declared order; `max_lengths` are the column lengths
    marshmallow-sqlalchemy turns into `Length(max=...)` checks; `not_null` are the fields the
    spec lets be null but marshmallow does not (`allow_none` off).
    """
    errors = field_errors(body, fields, required, max_lengths or {}, not_null)
    return str(errors) if errors else None


def field_errors(body: Mapping[str, Any], fields: Sequence[str], required: Sequence[str],
                 lengths: Mapping[str, int], not_null: Sequence[str] = ()) -> ErrorTree:
    """The error dict of one flat object (nested ones are checked by their callers)."""
    errors: ErrorTree = {}
    for name in fields:
        if name not in body:
            if name in required:
                errors[name] = [MISSING]
            continue
        value, limit = body[name], lengths.get(name)
        if value is None and name in not_null:
            errors[name] = [NULL]
        elif limit is not None and isinstance(value, str) and len(value) > limit:
            errors[name] = [f"Longer than maximum length {limit}."]
    # marshmallow walks a set here; sorted keeps mockflow's answer stable
    for name in sorted(set(body) - set(fields)):
        errors[name] = [UNKNOWN]
    return errors


def list_errors(items: Sequence[Any], check: Callable[[Mapping[str, Any]], ErrorTree]) -> ErrorTree:
    """Errors of a nested list, keyed by item index; null items may not be null."""
    errors: ErrorTree = {}
    for index, item in enumerate(items):
        found: Any = [NULL] if item is None else check(item)
        if found:
            errors[index] = found
    return errors


def insert_in_order(errors: ErrorTree, key: str, value: Any, fields: Sequence[str]) -> ErrorTree:
    """marshmallow reports declared fields in order, then unknown ones."""
    merged = {**errors, key: value}
    rank = {name: position for position, name in enumerate(fields)}
    return dict(sorted(merged.items(), key=lambda kv: rank.get(kv[0], len(fields))))
