"""A response mockflow cannot validate is a mockflow bug: it is answered as a 500 problem naming the
failing place, logged, and kept in `app.health`, which fails the test that caused it."""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest

from mockflow.api.context import Call
from tests.conftest import Client, _apps


@pytest.mark.parametrize("engine", ["compiled", "openapi-core"])
def test_an_invalid_response_becomes_a_500_problem_and_is_recorded(
        make_client: Callable[..., Client], engine: str, caplog: pytest.LogCaptureFixture) -> None:
    client = make_client(validation=engine)
    app = client.app

    def broken(call: Call) -> dict[str, object]:
        return {"version": 253, "git_version": None}  # version must be a string

    app.pipeline.handlers["get_version"] = broken
    with caplog.at_level(logging.ERROR, logger="mockflow"):
        response = client.get("/api/v1/version")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["title"] == "Response body does not conform to specification"
    assert body["detail"].startswith("get_version 200: ")
    assert "version" in body["detail"]
    assert app.health.invalid_responses == [body["detail"]]
    assert "mockflow bug" in caplog.text
    app.health.invalid_responses.clear()  # expected here; the guard would fail


def test_a_crashing_handler_gives_a_problem_not_a_stack_trace(make_client: Callable[..., Client]) -> None:
    client = make_client()
    app = client.app

    def crash(call: Call) -> None:
        raise KeyError("boom")

    app.pipeline.handlers["get_version"] = crash
    response = client.get("/api/v1/version")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "Traceback" not in response.text
    assert app.health.crashes == ["get_version: KeyError('boom')"]
    app.health.crashes.clear()


def test_the_guard_fails_a_test_that_caused_an_invalid_response(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("from tests.conftest import _no_mockflow_bugs, make_client  # noqa: F401\n")
    pytester.makepyfile(test_victim='''
from mockflow.api.context import Call

def test_victim(make_client):
    client = make_client()
    client.app.pipeline.handlers["get_version"] = lambda call: {"version": 1}
    client.get("/api/v1/version")
''')
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    _apps.clear()  # the victim's app, already judged by the inner run
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*invalid responses*get_version 200*"])
