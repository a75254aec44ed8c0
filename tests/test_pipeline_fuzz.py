"""Fuzzing the request pipeline itself: raw ASGI requests with arbitrary paths, query strings,
headers and bodies (invalid UTF-8, NUL bytes, huge numbers, deep nesting), as uvicorn would hand
them over. Whatever arrives: never a 5xx, a problem body on every error, and a refusal leaves the
store as it was (but for the login counters and audit rows Airflow writes before its own checks)."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import urllib.parse
from collections.abc import MutableMapping
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockflow import MockflowApp
from mockflow.api.bundle import airflow_v1
from mockflow.store import State, freeze
from tests.conftest import MINIMAL, build_app
from tests.strategies import json_values

PROBLEM_KEYS = {"detail", "status", "title", "type"}
TEMPLATES = sorted({op.path for op in airflow_v1().spec.operations.values()})
KNOWN_IDS = ["sales_daily", "ml_train", "default_pool", "admin", "~", "Admin", "1", "0", "-1"]


raw_bytes = st.binary(max_size=40)
segments = st.one_of(st.sampled_from(KNOWN_IDS), raw_bytes.map(lambda b: urllib.parse.quote(b, safe="")),
                     st.sampled_from(["%00", "%FF%FE", "%C0%AF", "..", "%2F", "~", "99999999999999999999999"]))


@st.composite
def raw_paths(draw: st.DrawFn) -> str:
    if draw(st.integers(0, 9)) == 0:  # now and then, anything at all
        return "/" + "/".join(draw(st.lists(segments, max_size=6)))
    template: str = draw(st.sampled_from(TEMPLATES))
    parts = [draw(segments) if part.startswith("{") else part for part in template.split("/")]
    return "/api/v1" + "/".join(parts) + draw(st.sampled_from(["", "", "", "/"]))


huge_numbers = st.sampled_from([b"1e400", b"-1e400", b"1" + b"0" * 400, b"18446744073709551616", b"-0", b"1e-400"])
query_values = st.one_of(raw_bytes, huge_numbers, st.sampled_from([b"true", b"-1", b"0", b"%00", b"%FF", b"~"]))
query_names = st.one_of(st.sampled_from([b"limit", b"offset", b"order_by", b"state", b"update_mask", b"dag_id",
                                         b"execution_date_gte", b"tags", b"only_active", b"full_content"]),
                        raw_bytes)
queries = st.one_of(st.just(b""), st.lists(st.tuples(query_names, query_values), max_size=6).map(
    lambda pairs: b"&".join(name + b"=" + value for name, value in pairs)))

# What h11 lets through: no NUL, CR or LF in a value, but any other byte (obs-text: invalid UTF-8).
header_values = st.binary(max_size=60).map(lambda b: b.translate(None, b"\x00\r\n"))
basic = st.tuples(st.sampled_from([b"admin", b"viewer", b"\xff\xfe", b"", b"a:b"]),
                  st.sampled_from([b"admin", b"viewer", b"\x00", b"wrong"])).map(
    lambda pair: b"Basic " + base64.b64encode(pair[0] + b":" + pair[1]))
admin = b"Basic " + base64.b64encode(b"admin:admin")
headers = st.lists(st.one_of(
    st.tuples(st.just(b"authorization"), st.one_of(st.just(admin), basic, header_values)),
    st.tuples(st.just(b"content-type"), st.sampled_from([b"application/json", b"text/plain", b"application/x+json",
                                                         b"application/json; charset=latin-1", b"\xff"])),
    st.tuples(st.just(b"accept"), st.sampled_from([b"*/*", b"text/plain", b"application/json", b"\xff"])),
    st.tuples(st.just(b"x-mockflow-namespace"), st.one_of(st.just(b"default"), header_values)),
    st.tuples(st.sampled_from([b"prefer", b"x-anything", b"content-encoding"]), header_values),
), max_size=5).flatmap(lambda sent: st.sampled_from([[(b"authorization", admin), *sent], sent]))

json_bodies = st.one_of(
    json_values.map(orjson.dumps),
    st.dictionaries(st.sampled_from(["name", "slots", "key", "value", "dag_run_id", "conf", "state", "dry_run"]),
                    json_values, max_size=4).map(orjson.dumps),
    st.integers(1, 400).map(lambda n: b'{"conf": ' + b'{"a": ' * n + b"1" + b"}" * n + b"}"),
    huge_numbers.map(lambda n: b'{"slots": ' + n + b', "name": "p"}'),
    st.sampled_from([b'{"name": "\\u0000", "slots": 1}', b'{"name": "\xff\xfe", "slots": 1}', b'"\\ud800"',
                     b"null", b"[]", b"{", b"\x00"]),
)
bodies = st.one_of(st.just(b""), raw_bytes, json_bodies)
methods = st.sampled_from(["GET", "GET", "POST", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS", "TRACE"])


def call(app: MockflowApp, method: str, raw_path: str, query: bytes, header_list: list[tuple[bytes, bytes]],
         body: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
    """One request as uvicorn hands it over: the path percent-decoded, the rest as sent."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
             "scheme": "http", "path": urllib.parse.unquote(raw_path), "raw_path": raw_path.encode("ascii"),
             "query_string": query, "root_path": "", "server": ("127.0.0.1", 8080), "client": ("127.0.0.1", 1),
             "headers": [(b"host", b"mockflow"), *header_list, (b"content-length", str(len(body)).encode())]}
    chunks: list[dict[str, Any]] = [{"type": "http.request", "body": body, "more_body": False},
                                    {"type": "http.disconnect"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return chunks.pop(0) if len(chunks) > 1 else chunks[0]

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    asyncio.run(app(scope, receive, send))
    start = next(message for message in sent if message["type"] == "http.response.start")
    content = b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")
    return start["status"], dict(start["headers"]), content


def fingerprint(state: State) -> bytes:
    """The state but for what Airflow writes on a refused request too: the login counters of the
    user who sent credentials, and the event-log row of 7 operations written before their checks."""
    ids = {table: last for table, last in state.last_ids.items() if table != "event_logs"}
    users = {key: dataclasses.replace(user, last_login=None, login_count=None, fail_login_count=None)
             for key, user in state.users.items()}
    return freeze(dataclasses.replace(state, event_logs={}, last_ids=ids, users=users))


# Small limits, so that the edge's refusals are in the mix too.
APP = build_app(MINIMAL, max_url_length=160, max_query_params=4, max_header_bytes=200, max_body_bytes=2000)


@settings(max_examples=400, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(method=methods, raw_path=raw_paths(), query=queries, header_list=headers, body=bodies)
def test_whatever_arrives_is_answered_without_a_5xx_and_refusals_change_nothing(
        method: str, raw_path: str, query: bytes, header_list: list[tuple[bytes, bytes]], body: bytes) -> None:
    before = fingerprint(APP.store.state)
    status, answer_headers, content = call(APP, method, raw_path, query, header_list, body)
    assert status < 500, content
    assert not APP.health.crashes and not APP.health.invalid_responses
    if status < 400:
        return
    assert fingerprint(APP.store.state) == before, f"a {status} changed the store"
    content_type = answer_headers.get(b"content-type", b"").decode()
    # Airflow's two errors that are no problem bodies (behaviour reference 0.2, 0.10): the HTML 404
    # outside the API, and the 406 of content negotiation.
    outside = not urllib.parse.unquote(raw_path).startswith("/api/v1/")
    if (status == 404 and outside) or status == 406:
        assert content_type.startswith("text/html"), (status, content_type)
        return
    assert content_type == "application/problem+json", (status, content_type)
    if method != "HEAD":
        problem = orjson.loads(content)
        assert set(problem) == PROBLEM_KEYS and problem["status"] == status
