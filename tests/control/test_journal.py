"""The request journal: what is recorded, redacted, filtered, counted and bounded."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from mockflow.app import MockflowApp
from tests.control.conftest import CONTROL, client_for


def entries(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    page = client.get(f"{CONTROL}/requests", params=params)
    assert page.status_code == 200, page.text
    found: list[dict[str, Any]] = page.json()["requests"]
    return found


def test_every_airflow_request_is_journaled_with_its_answer_and_verdicts(client: TestClient) -> None:
    refused = client.post("/api/v1/pools?x=1", json={"name": "p", "slots": "two"}, headers={"X-Trace": "t1"})
    (entry,) = entries(client)
    assert entry["method"] == "POST" and entry["path"] == "/api/v1/pools"
    assert entry["query"] == [["x", "1"]]
    assert entry["operation_id"] == "post_pool"
    assert entry["status"] == 400
    assert entry["request_valid"] is False
    assert entry["request_problem"] == refused.json()["detail"]
    assert entry["request_problem"].startswith("'two' is not of type 'integer'")
    assert entry["response_valid"] is True
    assert entry["body"] == '{"name":"p","slots":"two"}'
    assert entry["headers"]["authorization"] == "<redacted>"
    assert entry["headers"]["x-trace"] == "t1"
    assert entry["user"] == "admin"
    assert entry["fault_id"] is None
    assert entry["duration_ms"] >= 0


def test_unrouted_requests_are_journaled_and_control_calls_are_not(client: TestClient) -> None:
    client.get("/api/v1/nope")
    client.put("/api/v1/pools")
    client.get(f"{CONTROL}/clock")
    found = entries(client)
    assert [(e["path"], e["status"], e["operation_id"], e["request_valid"]) for e in found] == [
        ("/api/v1/nope", 404, None, False), ("/api/v1/pools", 405, None, False)]


def test_a_refused_login_is_journaled_with_the_user_it_claimed(app: MockflowApp) -> None:
    client_for(app, auth=("viewer", "wrong")).get("/api/v1/pools")
    (entry,) = entries(client_for(app))
    assert (entry["status"], entry["user"]) == (401, "viewer")


@pytest.mark.parametrize(("params", "expected"), [
    ({"operation_id": "get_pool"}, ["/api/v1/pools/etl", "/api/v1/pools/gpu"]),
    ({"method": "delete"}, ["/api/v1/pools/gpu", "/api/v1/variables/env"]),
    ({"path": "/api/v1/pools/*"}, ["/api/v1/pools/etl", "/api/v1/pools/gpu", "/api/v1/pools/gpu"]),
    ({"status": 404}, ["/api/v1/pools/gpu"]),
])
def test_filters(client: TestClient, params: dict[str, Any], expected: list[str]) -> None:
    client.get("/api/v1/pools/etl")
    client.get("/api/v1/pools")
    client.delete("/api/v1/pools/gpu")
    client.get("/api/v1/pools/gpu")
    client.delete("/api/v1/variables/env")
    assert [e["path"] for e in entries(client, **params)] == expected
    assert client.get(f"{CONTROL}/requests/count", params=params).json() == {"count": len(expected), "dropped": 0}


def test_time_filters_follow_the_clock(client: TestClient) -> None:
    client.put(f"{CONTROL}/clock", json={"now": "2030-01-01T00:00:00+00:00", "frozen": True})
    client.get("/api/v1/pools")
    client.post(f"{CONTROL}/clock/advance", json={"seconds": 60})
    client.get("/api/v1/version")
    assert [e["operation_id"] for e in entries(client, since="2030-01-01T00:00:30+00:00")] == ["get_version"]
    assert [e["operation_id"] for e in entries(client, until="2030-01-01T00:00:30+00:00")] == ["get_pools"]
    assert entries(client)[0]["time"] == "2030-01-01T00:00:00+00:00"


def test_paging(client: TestClient) -> None:
    for _ in range(5):
        client.get("/api/v1/version")
    page = client.get(f"{CONTROL}/requests", params={"limit": 2, "offset": 1}).json()
    assert [e["id"] for e in page["requests"]] == [2, 3]
    assert page["total_entries"] == 5


def test_the_journal_is_bounded_and_counts_what_it_dropped(make_app: Any) -> None:
    client = client_for(make_app(journal_limit=3))
    for _ in range(5):
        client.get("/api/v1/version")
    page = client.get(f"{CONTROL}/requests").json()
    assert [e["id"] for e in page["requests"]] == [3, 4, 5]
    assert page["dropped"] == 2


def test_delete_empties_the_journal(client: TestClient) -> None:
    client.get("/api/v1/version")
    assert client.delete(f"{CONTROL}/requests").status_code == 204
    assert client.get(f"{CONTROL}/requests/count").json() == {"count": 0, "dropped": 0}


@pytest.mark.parametrize("params", [{"status": "abc"}, {"since": "yesterday"}, {"limit": 0}, {"nope": "1"}])
def test_bad_filters_are_a_400(client: TestClient, params: dict[str, Any]) -> None:
    response = client.get(f"{CONTROL}/requests", params=params)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"


def test_the_python_facade_reads_the_same(app: MockflowApp) -> None:
    client = client_for(app)
    client.get("/api/v1/pools")
    client.get("/api/v1/pools/nope")
    assert app.control.count_requests({"status": 404}) == {"count": 1, "dropped": 0}
    assert app.control.get_requests() == client.get(f"{CONTROL}/requests").json()
    (entry,) = app.control.entries(operation_id="get_pools")
    assert entry.status == 200 and entry.user == "admin"
