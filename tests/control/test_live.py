"""The controls over a real socket: the same calls, and faults that break the connection itself."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from mockflow.server import LiveServer
from tests.conftest import MINIMAL, build_app
from tests.control.conftest import CONTROL, PVC

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    with LiveServer(build_app(MINIMAL, PVC)) as server:
        yield server


@pytest.fixture
def http(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, auth=("admin", "admin"), timeout=5) as client:
        client.post(f"{CONTROL}/reset")
        yield client


def fault(http: httpx.Client, how: str) -> None:
    rule = {"match": {"operation_id": "get_pools"}, "effect": {"disconnect": how}, "times": 1}
    assert http.post(f"{CONTROL}/faults", json=rule).status_code == 201


def test_reset_and_a_one_shot_fault_over_http(http: httpx.Client) -> None:
    assert http.post("/api/v1/pools", json={"name": "tmp", "slots": 1}).status_code == 200
    rule = {"match": {"operation_id": "get_pool"}, "effect": {"status": 404}, "times": 1}
    assert http.post(f"{CONTROL}/faults", json=rule).status_code == 201
    assert http.get("/api/v1/pools/tmp").status_code == 404
    assert http.get("/api/v1/pools/tmp").status_code == 200
    assert http.post(f"{CONTROL}/reset").json()["reset"] == ["store", "journal", "faults", "clock", "simulation"]
    assert http.get("/api/v1/pools/tmp").status_code == 404
    assert http.get(f"{CONTROL}/requests/count").json() == {"count": 1, "dropped": 0}


def test_drop_closes_the_connection_without_an_answer(http: httpx.Client) -> None:
    fault(http, "drop")
    with pytest.raises(httpx.RemoteProtocolError):
        http.get("/api/v1/pools")
    assert http.get("/api/v1/pools").status_code == 200


def test_reset_aborts_the_connection(http: httpx.Client) -> None:
    fault(http, "reset")
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        http.get("/api/v1/pools")
    assert http.get("/api/v1/pools").status_code == 200


def test_truncate_sends_half_the_body_then_closes(http: httpx.Client) -> None:
    fault(http, "truncate")
    with pytest.raises(httpx.RemoteProtocolError, match=r"incomplete|peer closed"):
        http.get("/api/v1/pools")
    assert http.get("/api/v1/pools").status_code == 200


def test_namespaces_over_http(live: LiveServer) -> None:
    with httpx.Client(base_url=live.url, auth=("admin", "admin"), headers={"X-Mockflow-Namespace": "job7"}) as job:
        job.post("/api/v1/pools", json={"name": "job7_only", "slots": 1})
        assert job.get("/api/v1/pools/job7_only").status_code == 200
    with httpx.Client(base_url=live.url, auth=("admin", "admin")) as default:
        assert default.get("/api/v1/pools/job7_only").status_code == 404
