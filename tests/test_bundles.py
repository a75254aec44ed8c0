"""Several API bundles served by one app, each validated by the same machinery."""

from __future__ import annotations

from collections import deque
from typing import Any

from starlette.testclient import TestClient

from mockflow import create_app
from mockflow.api.bundle import airflow_v1
from mockflow.api.context import Call, Reply
from mockflow.app import MockflowApp
from mockflow.bundle import Bundle, Text
from mockflow.control.steps import record_in_journal
from mockflow.pipeline import call_handler, hold_store, open_access, validate_request
from mockflow.spec import index_spec
from mockflow.store.errors import NotFoundError

from .conftest import MINIMAL, build_app

GREETER = {
    "openapi": "3.0.3",
    "info": {"title": "greeter", "version": "0"},
    "servers": [{"url": "/_greeter/v0"}],
    "paths": {
        "/pools/{name}": {
            "get": {
                "operationId": "get_pool_size",
                "parameters": [
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "times", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                ],
                "responses": {
                    "200": {"description": "ok", "content": {"application/json": {"schema": {
                        "type": "object", "required": ["slots"], "properties": {"slots": {"type": "integer"}},
                        "additionalProperties": False}}}},
                    "404": {"description": "missing"},
                },
            },
        },
    },
    "components": {"schemas": {"Error": {"type": "object", "required": ["status"], "properties": {
        "status": {"type": "integer"}, "title": {"type": "string", "nullable": True},
        "detail": {"type": "string", "nullable": True}, "type": {"type": "string"}}}}},
}


def get_pool_size(call: Call) -> Any:
    pool = call.state.pools.get(call.path["name"])
    if pool is None:
        raise NotFoundError("no_such_pool", name=call.path["name"])
    if call.path["name"] == "broken":
        return {"slots": "many"}  # breaks this bundle's own response schema
    return Reply(body={"slots": pool.slots * call.query.get("times", 1)})


def greeter() -> Bundle:
    return Bundle(name="greeter", spec=index_spec(GREETER), handlers={"get_pool_size": get_pool_size},
                  steps=(validate_request, hold_store, open_access, call_handler),
                  texts={"no_such_pool": Text("no pool called {name}", "Pool missing")})


def two_bundle_client() -> TestClient:
    app = build_app(MINIMAL)
    client = TestClient(create_app(app.settings, app.store, bundles=(airflow_v1(), greeter())))
    client.auth = ("admin", "admin")
    return client


def test_both_bundles_answer_from_the_same_store() -> None:
    client = two_bundle_client()
    assert client.post("/api/v1/pools", json={"name": "etl", "slots": 4}).status_code == 200
    assert client.get("/_greeter/v0/pools/etl", params={"times": 3}).json() == {"slots": 12}
    assert client.get("/api/v1/pools/etl").json()["slots"] == 4


def test_the_second_bundle_validates_requests_and_words_its_own_errors() -> None:
    client = two_bundle_client()
    refused = client.get("/_greeter/v0/pools/default_pool", params={"times": 0})
    assert refused.status_code == 400
    assert refused.json()["detail"].startswith("0 is less than the minimum of 1")
    missing = client.get("/_greeter/v0/pools/nope")
    assert missing.status_code == 404
    assert (missing.json()["title"], missing.json()["detail"]) == ("Pool missing", "no pool called nope")
    unrouted = client.get("/_greeter/v0/elsewhere")
    assert unrouted.status_code == 404
    assert unrouted.headers["content-type"] == "application/problem+json"


def test_the_second_bundle_validates_its_responses() -> None:
    client = two_bundle_client()
    client.post("/api/v1/pools", json={"name": "broken", "slots": 1})
    answer = client.get("/_greeter/v0/pools/broken")
    assert answer.status_code == 500
    assert "get_pool_size 200" in answer.json()["detail"]
    app = client.app
    assert isinstance(app, MockflowApp)
    assert app.health.invalid_responses and "get_pool_size" in app.health.invalid_responses[0]
    app.health.invalid_responses.clear()  # seen on purpose: the autouse guard would fail the test


def test_the_steps_a_bundle_is_served_with_can_be_changed_and_are_then_what_runs() -> None:
    """The steps are composed once per app; setting them composes them again (benchmarks drop the
    journal this way, and would otherwise measure it)."""
    app = build_app(MINIMAL)
    client = TestClient(app)
    client.auth = ("admin", "admin")
    served = app.pipeline
    kept = served.steps
    served.steps = tuple(step for step in kept if step is not record_in_journal)
    assert client.get("/api/v1/pools").status_code == 200
    assert app.namespaces.default.journal.entries == deque()
    served.steps = kept
    assert client.get("/api/v1/pools").status_code == 200
    assert [entry.operation_id for entry in app.namespaces.default.journal.entries] == ["get_pools"]
