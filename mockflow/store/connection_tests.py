"""What a hook's own `test_connection` reports when the outcome needs no network (all observed
on a real 2.5.3 with the sqlite and http providers); None where only the external system could
answer. A test scripts those outcomes with a fault rule on `test_connection` (docs/control-api.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

Outcome = tuple[bool, str]
SQLITE_UNOPENABLE = "unable to open database file"


def decided(conn_type: str, fields: Mapping[str, Any]) -> Outcome | None:
    """(status, message) for the connection `fields` of a test request, if decidable offline."""
    check = _CHECKS.get(conn_type)
    return None if check is None else check(fields)


def _sqlite(fields: Mapping[str, Any]) -> Outcome | None:
    # SqliteHook connects to `host` as a file name and runs SELECT 1. sqlite3 opens (or creates)
    # any file in an existing directory and fails on a directory or a missing parent; an empty
    # host or `:memory:` is an in-memory database. Paths are read here, never created.
    host = fields.get("host") or ""
    if host in ("", ":memory:") or host.startswith("file:"):
        return None
    parent = os.path.dirname(os.path.abspath(host))
    if os.path.isdir(host) or host.endswith("/") or not os.path.isdir(parent):
        return False, SQLITE_UNOPENABLE
    return None


def _http(fields: Mapping[str, Any]) -> Outcome | None:
    # HttpHook's base URL: the host when it holds a scheme, else `{schema or http}://{host}`,
    # then `:{port}`; requests refuses a URL without a host before any connection is tried.
    host = fields.get("host") or ""
    url = host if "://" in host else f"{fields.get('schema') or 'http'}://{host}"
    if fields.get("port"):
        url = f"{url}:{fields['port']}"
    scheme, _, rest = url.partition("://")
    has_host = bool(rest.split(":", 1)[0].split("/", 1)[0])
    if scheme.lower().startswith("http"):
        return None if has_host else (False, f"Invalid URL '{url}': No host supplied")
    return (False, f"Not supported URL scheme {scheme}") if has_host else (False, "No host specified.")


_CHECKS: dict[str, Callable[[Mapping[str, Any]], Outcome | None]] = {"sqlite": _sqlite, "http": _http}
