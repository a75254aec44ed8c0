"""Fault rules: matching, effects, lifetimes, the declared-status check, and what they refuse."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from mockflow.app import MockflowApp
from mockflow.disconnect import FaultDisconnect
from mockflow.problems import DOCS_URL
from tests.control.conftest import CONTROL, client_for


def add(client: TestClient, rule: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"{CONTROL}/faults", json=rule)
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_a_one_shot_status_answers_once_with_an_airflow_problem_then_the_real_answer(client: TestClient) -> None:
    rule = add(client, {"match": {"operation_id": "get_pool"}, "effect": {"status": 404, "detail": "gone"},
                        "times": 1})
    assert rule["id"] == "fault-1" and rule["times"] == 1 and rule["answered"] == 0
    faulted = client.get("/api/v1/pools/etl")
    assert faulted.status_code == 404
    assert faulted.headers["content-type"] == "application/problem+json"
    assert faulted.json() == {"detail": "gone", "status": 404, "title": "Not Found", "type": DOCS_URL + "NotFound"}
    assert client.get("/api/v1/pools/etl").json()["slots"] == 8
    assert client.get(f"{CONTROL}/faults/fault-1").json()["answered"] == 1


def test_a_faulted_write_changes_nothing(client: TestClient) -> None:
    add(client, {"match": {"operation_id": "post_pool"}, "effect": {"status": 400}, "times": 1})
    assert client.post("/api/v1/pools", json={"name": "new", "slots": 1}).status_code == 400
    assert client.get("/api/v1/pools/new").status_code == 404


def test_after_lets_the_first_matches_through_and_times_bounds_the_answers(client: TestClient) -> None:
    add(client, {"match": {"operation_id": "get_pools"}, "effect": {"status": 403}, "after": 2, "times": 2})
    statuses = [client.get("/api/v1/pools").status_code for _ in range(6)]
    assert statuses == [200, 200, 403, 403, 200, 200]
    rule = client.get(f"{CONTROL}/faults").json()["faults"][0]
    assert (rule["matched"], rule["answered"]) == (4, 2)


def test_without_times_a_rule_lasts_until_removed(client: TestClient) -> None:
    rule = add(client, {"match": {"method": "get", "path": "/api/v1/variables/*"}, "effect": {"status": 404}})
    assert rule["match"]["method"] == "GET"
    assert [client.get("/api/v1/variables/env").status_code for _ in range(3)] == [404, 404, 404]
    assert client.delete(f"{CONTROL}/faults/{rule['id']}").status_code == 204
    assert client.get("/api/v1/variables/env").status_code == 200
    assert client.delete(f"{CONTROL}/faults/{rule['id']}").status_code == 404


def test_first_matching_rule_wins_in_order(client: TestClient) -> None:
    add(client, {"id": "narrow", "match": {"operation_id": "get_pool", "path_params": {"pool_name": "gpu"}},
                 "effect": {"status": 403}})
    add(client, {"id": "broad", "match": {"path": "/api/v1/pools/*"}, "effect": {"status": 404}})
    assert client.get("/api/v1/pools/gpu").status_code == 403
    assert client.get("/api/v1/pools/etl").status_code == 404
    assert [r["id"] for r in client.get(f"{CONTROL}/faults").json()["faults"]] == ["narrow", "broad"]


@pytest.mark.parametrize(("match", "hit", "miss"), [
    ({"query": {"limit": "1"}}, {"params": {"limit": "1"}}, {"params": {"limit": "2"}}),
    ({"user": "viewer"}, {"auth": ("viewer", "viewer")}, {"auth": ("admin", "admin")}),
])
def test_rules_match_on_query_values_and_the_user(app: MockflowApp, match: dict[str, Any], hit: dict[str, Any],
                                                   miss: dict[str, Any]) -> None:
    client = client_for(app)
    add(client, {"match": {"operation_id": "get_pools", **match}, "effect": {"status": 403}})
    assert client.get("/api/v1/pools", **hit).status_code == 403
    assert client.get("/api/v1/pools", **miss).status_code == 200


def test_rules_match_on_dotted_body_fields(client: TestClient) -> None:
    add(client, {"match": {"operation_id": "post_pool", "body": {"name": "doomed"}}, "effect": {"status": 400}})
    assert client.post("/api/v1/pools", json={"name": "doomed", "slots": 1}).status_code == 400
    assert client.post("/api/v1/pools", json={"name": "fine", "slots": 1}).status_code == 200


def test_a_canned_body_and_headers_answer_instead_of_the_store(client: TestClient) -> None:
    canned = {"name": "etl", "slots": 99, "occupied_slots": 0, "running_slots": 0, "queued_slots": 0,
              "scheduled_slots": 0, "open_slots": 99, "description": "canned"}
    add(client, {"match": {"operation_id": "get_pool"}, "effect": {"body": canned, "headers": {"X-Canned": "yes"}}})
    answer = client.get("/api/v1/pools/etl")
    assert answer.status_code == 200
    assert answer.json() == canned
    assert answer.headers["x-canned"] == "yes"


def test_a_canned_body_the_operation_cannot_answer_is_refused_unless_forced(client: TestClient) -> None:
    refused = client.post(f"{CONTROL}/faults", json={"match": {"operation_id": "get_pool"},
                                                      "effect": {"body": {"slots": "many"}}})
    assert refused.status_code == 400
    assert "get_pool" in refused.json()["detail"] and "force" in refused.json()["detail"]
    add(client, {"match": {"operation_id": "get_pool"}, "effect": {"body": {"slots": "many"}}, "force": True})
    assert client.get("/api/v1/pools/etl").json() == {"slots": "many"}


def test_a_status_the_operation_does_not_declare_is_refused_naming_the_declared_ones(client: TestClient) -> None:
    refused = client.post(f"{CONTROL}/faults", json={"match": {"operation_id": "get_pools"},
                                                      "effect": {"status": 503}})
    assert refused.status_code == 400
    assert refused.json()["detail"] == ('get_pools does not declare status 503; it declares 200, 401, 403. '
                                        'Send "force": true to inject it anyway.')
    assert client.get(f"{CONTROL}/faults").json() == {"faults": []}
    add(client, {"match": {"operation_id": "get_pools"}, "effect": {"status": 503}, "force": True})
    answer = client.get("/api/v1/pools")
    assert answer.status_code == 503
    assert answer.json()["status"] == 503 and answer.json()["type"] == "about:blank"


@pytest.mark.parametrize(("rule", "detail"), [
    ({"match": {"operation_id": "no_such_op"}}, "Unknown operation_id 'no_such_op'"),
    ({"match": {}, "times": 0}, "0 is less than the minimum of 1"),
    ({"match": {"nope": 1}}, "Additional properties are not allowed ('nope' was unexpected)"),
    ({"effect": {"status": 500}}, "'match' is a required property"),
    ({"match": {}, "probability": 2}, "2 is greater than the maximum of 1"),
    ({"match": {}, "effect": {"disconnect": "explode"}}, "'explode' is not one of ['drop', 'reset', 'truncate']"),
])
def test_bad_rules_are_refused_and_nothing_is_added(client: TestClient, rule: dict[str, Any], detail: str) -> None:
    refused = client.post(f"{CONTROL}/faults", json=rule)
    assert refused.status_code == 400
    assert refused.json()["detail"].startswith(detail)
    assert client.get(f"{CONTROL}/faults").json() == {"faults": []}


def test_a_rule_id_is_unique(client: TestClient) -> None:
    add(client, {"id": "mine", "match": {}})
    clash = client.post(f"{CONTROL}/faults", json={"id": "mine", "match": {}})
    assert clash.status_code == 409
    assert len(client.get(f"{CONTROL}/faults").json()["faults"]) == 1


def test_a_rule_without_effect_answers_a_500_problem(client: TestClient) -> None:
    rule = add(client, {"match": {"path": "/api/v1/version"}})
    assert rule["effect"] == {"status": 500}
    assert client.get("/api/v1/version").status_code == 500
    # naming the operation, the 500 it does not declare must be asked for
    assert client.post(f"{CONTROL}/faults", json={"match": {"operation_id": "get_version"}}).status_code == 400


def test_probability_draws_from_the_seeded_random_source(make_app: Any) -> None:
    def statuses(seed: int) -> list[int]:
        client = client_for(make_app(seed=seed))
        add(client, {"match": {"operation_id": "get_pool"}, "effect": {"status": 404}, "probability": 0.5})
        return [client.get("/api/v1/pools/etl").status_code for _ in range(40)]

    first = statuses(7)
    assert first == statuses(7)  # same seed, same draws
    assert 5 < first.count(404) < 35


def test_a_delay_is_awaited_before_answering(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr("mockflow.app.asyncio.sleep", fake_sleep)
    add(client, {"match": {"operation_id": "get_pools"}, "effect": {"delay_ms": 250}, "times": 1})
    assert client.get("/api/v1/pools").status_code == 200  # a pure delay lets the request through
    assert client.get("/api/v1/pools").status_code == 200
    assert slept == [0.25]


@pytest.mark.parametrize("how", ["drop", "reset", "truncate"])
def test_in_process_a_broken_connection_raises_in_the_client(client: TestClient, how: str) -> None:
    add(client, {"match": {"operation_id": "get_pools"}, "effect": {"disconnect": how}, "times": 1})
    with pytest.raises(FaultDisconnect, match=how):
        client.get("/api/v1/pools")
    assert client.get("/api/v1/pools").status_code == 200


def test_the_prefer_header_is_ignored_unless_enabled(make_app: Any) -> None:
    off = client_for(make_app())
    assert off.get("/api/v1/pools/etl", headers={"Prefer": "code=404"}).status_code == 200
    on = client_for(make_app(fault_header=True))
    faulted = on.get("/api/v1/pools/etl", headers={"Prefer": "code=404"})
    assert faulted.status_code == 404
    assert faulted.json()["title"] == "Not Found"
    undeclared = on.get("/api/v1/pools/etl", headers={"Prefer": "code=503"})
    assert undeclared.status_code == 400
    assert undeclared.json()["detail"] == "get_pool does not declare status 503; it declares 200, 401, 403, 404"


def test_faults_are_journaled_with_their_rule(client: TestClient) -> None:
    add(client, {"id": "boom", "match": {"operation_id": "get_pools"}, "effect": {"status": 403}, "times": 1})
    client.get("/api/v1/pools")
    client.get("/api/v1/pools")
    entries = client.get(f"{CONTROL}/requests", params={"operation_id": "get_pools"}).json()["requests"]
    assert [(e["status"], e["fault_id"]) for e in entries] == [(403, "boom"), (200, None)]


def test_the_python_facade_reads_the_same(app: MockflowApp) -> None:
    rule = app.control.post_fault({"match": {"operation_id": "get_pools"}, "effect": {"status": 403}, "times": 1})
    client = client_for(app)
    assert client.get(f"{CONTROL}/faults").json() == {"faults": [rule]}
    assert client.get("/api/v1/pools").status_code == 403
    assert app.control.get_fault(rule["id"])["answered"] == 1
    app.control.delete_faults()
    assert app.control.get_faults() == {"faults": []}
