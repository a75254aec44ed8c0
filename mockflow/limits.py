"""The limits a shared mockflow needs, checked where a request enters, before routing.

Each limit is a setting (`Settings.max_*`) and a refusal is a problem body naming it:

    URL length, query parameters -> 414    request headers -> 431
    request body bytes           -> 413    JSON nesting depth -> 400 (where bodies and files are parsed)

The depth limit exists because orjson writes at most 254 levels: a value nested deeper would be
stored, and then every answer that includes it would fail to encode. Whatever mockflow accepts it
must be able to write back, so depth is refused where JSON is read, with room left for the
envelopes (`{"dag_runs": [{"conf": ...}]}`) that answers wrap values in.

uvicorn has limits of its own that apply first on a live server (see `docs/differences.md`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from mockflow.problems import ApiError, BadRequest, HeadersTooLarge, PayloadTooLarge, UriTooLong
from mockflow.values import value_class

if TYPE_CHECKING:
    from starlette.types import Receive

    from mockflow.settings import Settings

# 64 levels are far more than any real conf or XCom needs, and far below orjson's 254.
DEFAULT_MAX_JSON_DEPTH = 64
# The most the setting may be: an answer adds a few levels of envelope around a stored value.
MAX_JSON_DEPTH_CEILING = 200
# Fixture files (and state imported through the controls), whatever the setting, so that a set loads
# the same on every server: their own structure takes up to six levels above the values.
FIXTURE_MAX_JSON_DEPTH = 100
# Bodies of the control API carry fixture files by name (`{"pools.json": [...]}`): one level more,
# so that a state exported by `GET /_mockflow/state` can always be put back.
CONTROL_MAX_JSON_DEPTH = FIXTURE_MAX_JSON_DEPTH + 1
FIXTURE_DEPTH_NAME = "fixture files and control bodies"

KeyPath = tuple[str | int, ...]


@value_class(frozen=True, slots=True)
class Limits:
    body_bytes: int
    header_bytes: int
    url_length: int
    query_params: int

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(body_bytes=settings.max_body_bytes, header_bytes=settings.max_header_bytes,
                   url_length=settings.max_url_length, query_params=settings.max_query_params)


# --- the edge: what the request line and headers alone decide ----------------------------------

def edge_refusal(scope: Mapping[str, Any], limits: Limits) -> ApiError | None:
    """The first limit this request breaks before its body is read, in gunicorn's order (request
    line, then headers, then the declared body length); None when it keeps them all."""
    raw_path: bytes = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogateescape")
    query: bytes = scope.get("query_string", b"")
    url_length = len(raw_path) + (len(query) + 1 if query else 0)
    if url_length > limits.url_length:
        return UriTooLong(f"The URL is {url_length} bytes long; this mockflow takes at most {limits.url_length} "
                          "(MOCKFLOW_MAX_URL_LENGTH)")
    if not query.isascii():  # h11 never passes such a target; another ASGI server might
        return BadRequest("The query string is not ASCII: percent-encode it (RFC 3986)")
    # A query has at most one parameter more than it has `&`s: only a long one is counted exactly.
    if query.count(b"&") >= limits.query_params:
        params = sum(1 for part in query.split(b"&") if part)
        if params > limits.query_params:
            return UriTooLong(f"The query string has {params} parameters; this mockflow takes at most "
                              f"{limits.query_params} (MOCKFLOW_MAX_QUERY_PARAMS)")
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    header_bytes = 4 * len(headers) + sum(len(name) + len(value) for name, value in headers)  # `name: value\r\n`
    if header_bytes > limits.header_bytes:
        return HeadersTooLarge(f"The request headers are {header_bytes} bytes; this mockflow takes at most "
                               f"{limits.header_bytes} (MOCKFLOW_MAX_HEADER_BYTES)")
    declared = _content_length(headers)
    if declared is not None and declared > limits.body_bytes:
        return body_too_large(limits, f"declares {declared} bytes, more than")
    return None


def _content_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name.lower() == b"content-length":
            return int(value) if value.strip().isdigit() else None
    return None


def body_too_large(limits: Limits, what: str) -> PayloadTooLarge:
    return PayloadTooLarge(f"The request body {what} the {limits.body_bytes} bytes this mockflow takes "
                           "(MOCKFLOW_MAX_BODY_BYTES)")


class ClientLeft(Exception):
    """The client went away before its whole body arrived."""


async def read_body(receive: Receive, limits: Limits) -> bytes:
    """The whole body, refused as soon as it grows past the limit (a chunked body declares no
    length). Read from the ASGI messages as Starlette's `Request.stream()` reads them, without an
    async generator (each costs a hook call and a weak set entry per request)."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientLeft()
        if message["type"] != "http.request":
            continue
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limits.body_bytes:
            raise body_too_large(limits, "is longer than")
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


# --- JSON nesting -----------------------------------------------------------------------------

@value_class(frozen=True, slots=True)
class Scan:
    """What one walk over a parsed JSON value found: the key path of the first container nested
    deeper than the limit, and the first integer outside 64 bits (when asked to look for one)."""

    too_deep: KeyPath | None = None
    wide_integer: int | None = None


INT64 = range(-(2**63), 2**63)


def scan(value: Any, limit: int, *, wide_integers: bool = False) -> Scan:
    """One iterative walk (a deep value must not exhaust the stack) serving both checks. The
    outermost object or array is level 1; without `wide_integers` it stops at the first container
    past the limit, with it it walks on, since a wide integer is the error to report first."""
    stack: list[tuple[Any, int, KeyPath]] = [(value, 1, ())]
    deep: KeyPath | None = None
    pushed = (dict, list, int) if wide_integers else (dict, list)  # a bool is an int: refused when popped
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, dict):
            children: Iterable[tuple[str | int, Any]] = node.items()
        elif isinstance(node, list):
            children = enumerate(node)
        elif isinstance(node, int) and not isinstance(node, bool) and node not in INT64:
            return Scan(deep, node)  # only integers are pushed, and only when they are looked for
        else:
            continue
        if depth > limit and deep is None:
            deep = path
            if not wide_integers:
                return Scan(deep)
        stack.extend((child, depth + 1, (*path, key)) for key, child in children if isinstance(child, pushed))
    return Scan(deep)


def too_deep(value: Any, limit: int) -> KeyPath | None:
    """The key path of the first container nested deeper than `limit` levels, or None."""
    return scan(value, limit).too_deep


def depth_message(what: str, limit: int, setting: str) -> str:
    return f"{what} is nested deeper than {limit} levels, the most this mockflow stores ({setting})"
