"""Small helpers that turn store values into the real server's wire forms."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


def iso(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with `+00:00`; microseconds only when non-zero (as Airflow prints them)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def naive_iso(value: datetime | None) -> str | None:
    """User timestamps are naive on the real server."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat()


def parse_datetime(value: Any) -> datetime | None:
    """Reads an ISO 8601 value (fixtures, bodies); naive values are taken as UTC."""
    if value is None or isinstance(value, datetime):
        return value
    text = str(value).strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def python_repr(value: Any) -> str:
    """`str()` of a value as Python prints it (XCom values, log contents, audit extras)."""
    return str(value)
