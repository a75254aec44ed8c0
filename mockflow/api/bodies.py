"""The second stage of body checking that Airflow's handlers run after the spec (marshmallow loads).

The real server reports these as the Python repr of an error dict, fields in the schema's declared
order, then unknown fields: `{'conn_type': ['Missing data for required field.']}`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

MISSING = "Missing data for required field."
UNKNOWN = "Unknown field."


def load_errors(
    body: Mapping[str, Any],
    fields: Sequence[str],
    *,
    required: Sequence[str] = (),
    max_lengths: Mapping[str, int] | None = None,
) -> str | None:
    """The marshmallow error text for `body`, or None when it loads cleanly.

    `fields` are the loadable names in declared order; `max_lengths` are the column lengths
    marshmallow-sqlalchemy turns into `Length(max=...)` checks.
    """
    errors: dict[str, list[str]] = {}
    for name in fields:
        if name not in body:
            if name in required:
                errors[name] = [MISSING]
            continue
        limit = (max_lengths or {}).get(name)
        value = body[name]
        if limit is not None and isinstance(value, str) and len(value) > limit:
            errors[name] = [f"Longer than maximum length {limit}."]
    # marshmallow walks a set here; sorted keeps mockflow's answer stable
    for name in sorted(set(body) - set(fields)):
        errors[name] = [UNKNOWN]
    return str(errors) if errors else None
