"""The request parts the app reads straight from the ASGI scope are exactly what Starlette's
`Request.url.path` and `Request.query_params.multi_items()` give, for any path and query."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request
from starlette.types import Scope

from mockflow.app import query_items, url_path

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
