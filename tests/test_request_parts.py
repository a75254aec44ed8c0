"""The request parts the app reads straight from the ASGI scope are exactly what Starlette's
`Request.url.path`, `Request.query_params.multi_items()` and `Request.headers` give, for any path,
query and headers; and the answers `render` builds itself are the ones Starlette's `Response` makes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Scope

from mockflow.api.context import Reply
from mockflow.app import query_items, render, url_path
from mockflow.pipeline import RequestHeaders
from mockflow.problems import PROBLEM_CONTENT_TYPE
from mockflow.rendering import dump_json

# Paths as servers decode them: any text, with the characters Starlette escapes or urlsplit drops.
PATHS = st.text(alphabet=st.sampled_from([*"ab/~%.?#\\\t\r\n é漢", "\x00", "\x7f"]), max_size=30).map(
    lambda text: "/" + text)
QUERIES = st.text(alphabet=st.sampled_from(list("ab=&;+%20._~-")), max_size=30).map(str.encode)


def _scope(path: str, query: bytes) -> Scope:
    return {"type": "http", "method": "GET", "scheme": "http", "path": path, "query_string": query,
            "root_path": "", "headers": [(b"host", b"127.0.0.1:8080")], "server": ("127.0.0.1", 8080)}


@given(PATHS)
def test_url_path_is_starlettes(path: str) -> None:
    scope = _scope(path, b"")
    assert url_path(scope) == Request(scope).url.path


@given(QUERIES)
def test_query_items_are_starlettes(query: bytes) -> None:
    scope = _scope("/api/v1/dags", query)
    assert query_items(scope) == Request(scope).query_params.multi_items()


def test_the_common_cases() -> None:
    assert url_path(_scope("/api/v1/dags/a b", b"")) == "/api/v1/dags/a b"
    assert url_path(_scope("/api/v1/dags/a?b#c\\d", b"")) == "/api/v1/dags/a%3Fb%23c%5Cd"
    assert query_items(_scope("/", b"limit=25&tags=a&tags=b&x")) == [("limit", "25"), ("tags", "a"),
                                                                     ("tags", "b"), ("x", "")]
    assert query_items(_scope("/", b"")) == []


# Header lists as servers pass them (names in lower case, repeats allowed), and names asked in any case.
NAMES = st.sampled_from(["authorization", "content-type", "x-mockflow-namespace", "accept", "prefer"])
HEADER_LISTS = st.lists(st.tuples(NAMES, st.text(alphabet=st.characters(max_codepoint=255), max_size=8)), max_size=6)
ASKED = st.lists(NAMES.map(str.upper) | NAMES.map(str.title) | NAMES | st.just("absent"), max_size=6)


@given(HEADER_LISTS, ASKED)
def test_request_headers_read_as_starlettes(pairs: list[tuple[str, str]], asked: list[str]) -> None:
    raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in pairs]
    ours, theirs = RequestHeaders(raw), Headers(scope={"headers": raw})
    for name in asked:
        assert ours.get(name) == theirs.get(name)
        assert ours.get(name, "default") == theirs.get(name, "default")
        assert (name in ours) == (name in theirs)
    assert (len(ours), list(ours), ours.items()) == (len(theirs), list(theirs), theirs.items())
    assert dict(ours) == dict(theirs)  # what the journal keeps


def test_a_missing_header_is_a_key_error_as_in_starlette() -> None:
    headers = RequestHeaders([(b"accept", b"a"), (b"accept", b"b")])
    assert headers["Accept"] == "a"
    with pytest.raises(KeyError):
        headers["prefer"]


STATUSES = st.sampled_from([200, 201, 204, 400, 401, 403, 404, 405, 409, 500])
MEDIA_TYPES = st.sampled_from(["application/json", PROBLEM_CONTENT_TYPE, "text/plain", "text/html; charset=utf-8"])
JSON_SCALARS = st.integers(-2**63, 2**63 - 1) | st.text(max_size=5)  # orjson's integer range
BODIES = st.none() | st.dictionaries(st.text(max_size=5), JSON_SCALARS, max_size=3)


@given(STATUSES, MEDIA_TYPES, BODIES, st.dictionaries(st.sampled_from(["Allow", "X-Extra"]), st.text(
    alphabet="abc, ", max_size=6), max_size=2), st.booleans())
def test_render_answers_as_starlettes_response(status: int, media_type: str, body: object,
                                               headers: dict[str, str], validate: bool) -> None:
    reply = Reply(status=status, body=body, content_type=media_type, headers=headers, validate=validate)
    if status == 204 or (body is None and status < 300 and not validate):
        expected = Response(status_code=status, headers=headers, media_type=media_type)
    else:
        expected = Response(dump_json(body), status_code=status, headers=headers, media_type=media_type)
    answer = render(reply)
    assert (answer.status_code, answer.raw_headers, answer.body) == (expected.status_code, expected.raw_headers,
                                                                     expected.body)
    assert answer.headers == expected.headers and answer.background is None
