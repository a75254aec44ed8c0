"""Pools: get_pools, get_pool, post_pool, patch_pool, delete_pool (behaviour reference, Pool)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

from mockflow.store.records import TaskInstance
from tests.conftest import FIXTURES, MINIMAL, Client

PVC = FIXTURES / "pvc"
BAD_REQUEST = "https://airflow.apache.org/docs/apache-airflow/2.5.3/stable-rest-api-ref.html#section/Errors/BadRequest"
SEEDED = ["default_pool", "etl", "gpu", "api_calls"]  # in id order


@pytest.fixture
def pvc(make_client: Callable[..., Client]) -> Client:
    return make_client(MINIMAL, PVC)


def pools_table(client: Client) -> Any:
    """The tables a refused request must leave alone (a whole snapshot would differ: every
    authenticated call counts a login, and audited calls write their row even when refused)."""
    state = client.app.store.state
    return copy.deepcopy((state.pools, state.last_ids.get("pools"), state.event_logs))


def names(body: dict[str, Any]) -> list[str]:
    return [pool["name"] for pool in body["pools"]]


def add_ti(client: Client, task_id: str, pool: str, state_name: str | None, pool_slots: int = 1) -> None:
    state = client.app.store.state
    state.task_instances.insert(TaskInstance("d", "r", task_id, state=state_name, pool=pool, pool_slots=pool_slots))


# --- get_pools --------------------------------------------------------------------------------

def test_list_in_id_order_with_the_full_wire_shape(pvc: Client) -> None:
    body = pvc.get("/api/v1/pools").json()
    assert names(body) == SEEDED
    assert body["total_entries"] == 4
    assert body["pools"][1] == {
        "name": "etl", "slots": 8, "description": "Nightly warehouse loads", "occupied_slots": 0,
        "running_slots": 0, "queued_slots": 0, "scheduled_slots": 0, "open_slots": 8,
    }


@pytest.mark.parametrize(("order_by", "expected"), [
    ("name", ["api_calls", "default_pool", "etl", "gpu"]),
    ("-name", ["gpu", "etl", "default_pool", "api_calls"]),
    ("slots", ["gpu", "api_calls", "etl", "default_pool"]),
    ("-slots", ["default_pool", "etl", "api_calls", "gpu"]),
    ("id", SEEDED),
    ("-id", SEEDED[::-1]),
])
def test_list_ordering(pvc: Client, order_by: str, expected: list[str]) -> None:
    assert names(pvc.get("/api/v1/pools", params={"order_by": order_by}).json()) == expected


@pytest.mark.parametrize("order_by", ["description", "-open_slots", "pool", ""])
def test_list_ordering_by_an_unknown_column_is_400(pvc: Client, order_by: str) -> None:
    response = pvc.get("/api/v1/pools", params={"order_by": order_by})
    assert response.status_code == 400
    column = order_by.lstrip("-")
    assert response.json() == {
        "detail": f"Ordering with '{column}' is disallowed or the attribute does not exist on the model",
        "status": 400, "title": "Bad Request", "type": BAD_REQUEST,
    }


@pytest.mark.parametrize(("params", "expected"), [
    ({"limit": 2, "order_by": "name"}, ["api_calls", "default_pool"]),
    ({"limit": 2, "offset": 2, "order_by": "name"}, ["etl", "gpu"]),
    ({"offset": 50}, []),
    ({"limit": 0}, SEEDED),  # 0 means the fallback page size
])
def test_list_paging(pvc: Client, params: dict[str, Any], expected: list[str]) -> None:
    body = pvc.get("/api/v1/pools", params=params).json()
    assert names(body) == expected
    assert body["total_entries"] == 4


def test_list_limit_is_clamped_to_100(pvc: Client) -> None:
    for i in range(120):
        assert pvc.post("/api/v1/pools", json={"name": f"p{i:03}", "slots": 1}).status_code == 200
    body = pvc.get("/api/v1/pools", params={"limit": 100000}).json()
    assert len(body["pools"]) == 100
    assert body["total_entries"] == 124


@pytest.mark.parametrize(("params", "title", "detail"), [
    ({"limit": -1}, "Page limit must be a positive integer", None),
    ({"limit": "abc"}, "Bad Request", "Wrong type, expected 'integer' for query parameter 'limit'"),
    ({"bogus": 1}, None, "Extra query parameter(s) bogus not in spec"),
])
def test_list_bad_paging_is_400(pvc: Client, params: dict[str, Any], title: str | None,
                                detail: str | None) -> None:
    response = pvc.get("/api/v1/pools", params=params)
    assert response.status_code == 400
    assert (response.json()["title"], response.json()["detail"]) == (title, detail)


def test_list_offset_below_zero_is_400(pvc: Client) -> None:
    response = pvc.get("/api/v1/pools", params={"offset": -1})
    assert response.status_code == 400
    assert response.json()["detail"].startswith("-1 is less than the minimum of 0")


# --- slot figures -----------------------------------------------------------------------------

def test_slot_figures_are_sums_of_pool_slots_by_state(pvc: Client) -> None:
    add_ti(pvc, "a", "etl", "running", pool_slots=2)
    add_ti(pvc, "b", "etl", "queued")
    add_ti(pvc, "c", "etl", "scheduled", pool_slots=3)
    add_ti(pvc, "d", "etl", "success", pool_slots=5)  # finished: holds nothing
    add_ti(pvc, "e", "gpu", "running")
    expected = {"name": "etl", "slots": 8, "description": "Nightly warehouse loads", "occupied_slots": 3,
                "running_slots": 2, "queued_slots": 1, "scheduled_slots": 3, "open_slots": 5}
    assert pvc.get("/api/v1/pools/etl").json() == expected
    listed = pvc.get("/api/v1/pools").json()["pools"]
    assert listed[1] == expected
    assert listed[2]["occupied_slots"] == 1 and listed[2]["open_slots"] == 1


def test_slot_figures_are_derived_never_stored(pvc: Client) -> None:
    add_ti(pvc, "a", "gpu", "running", pool_slots=2)
    assert pvc.get("/api/v1/pools/gpu").json()["open_slots"] == 0
    state = pvc.app.store.state
    state.task_instances.set_state(state.task_instances[("d", "r", "a", -1)], "success")  # the task finished
    assert pvc.get("/api/v1/pools/gpu").json()["open_slots"] == 2


def test_over_subscribed_pool_has_negative_open_slots(pvc: Client) -> None:
    add_ti(pvc, "a", "gpu", "queued", pool_slots=5)
    assert pvc.get("/api/v1/pools/gpu").json()["open_slots"] == -3


# --- get_pool ---------------------------------------------------------------------------------

def test_get_default_pool(pvc: Client) -> None:
    body = pvc.get("/api/v1/pools/default_pool").json()
    assert (body["slots"], body["description"]) == (128, "Default pool")


@pytest.mark.parametrize("name", ["nope", "ETL", "etl "])
def test_get_missing_pool_is_404(pvc: Client, name: str) -> None:
    response = pvc.get(f"/api/v1/pools/{quote(name)}")
    assert response.status_code == 404
    assert response.json()["title"] == "Not Found"
    assert response.json()["detail"] == f"Pool with name:'{name}' not found"


# --- post_pool --------------------------------------------------------------------------------

def test_post_creates_and_answers_the_pool(pvc: Client) -> None:
    response = pvc.post("/api/v1/pools", json={"name": "reports", "slots": 3, "description": "BI"})
    assert response.status_code == 200
    assert response.json() == {"name": "reports", "slots": 3, "description": "BI", "occupied_slots": 0,
                               "running_slots": 0, "queued_slots": 0, "scheduled_slots": 0, "open_slots": 3}
    assert pvc.get("/api/v1/pools/reports").json() == response.json()
    assert names(pvc.get("/api/v1/pools").json())[-1] == "reports"


def test_post_without_description_stores_null_and_writes_no_audit_row(pvc: Client) -> None:
    before = len(pvc.app.store.state.event_logs)
    assert pvc.post("/api/v1/pools", json={"name": "x", "slots": 1}).json()["description"] is None
    assert len(pvc.app.store.state.event_logs) == before


def test_post_accepts_negative_slots_other_than_minus_one(pvc: Client) -> None:
    body = pvc.post("/api/v1/pools", json={"name": "neg", "slots": -5}).json()
    assert (body["slots"], body["open_slots"]) == (-5, -5)


@pytest.mark.parametrize("name", ["pöol-✓", "a" * 256, "with space", "日本"])
def test_post_unicode_and_long_names_round_trip(pvc: Client, name: str) -> None:
    assert pvc.post("/api/v1/pools", json={"name": name, "slots": 2}).status_code == 200
    assert pvc.get(f"/api/v1/pools/{quote(name)}").json()["name"] == name
    assert pvc.delete(f"/api/v1/pools/{quote(name)}").status_code == 204


@pytest.mark.parametrize(("body", "status", "detail"), [
    ({"name": "x"}, 400, "Missing required property(ies): ['slots']"),
    ({"slots": 1}, 400, "Missing required property(ies): ['name']"),
    ({}, 400, "Missing required property(ies): ['name', 'slots']"),
    ({"description": "d"}, 400, "Missing required property(ies): ['name', 'slots']"),
    ({"name": "x", "slots": 1, "colour": "red"}, 400, "{'colour': ['Unknown field.']}"),
    ({"name": "x", "slots": 1, "b": 1, "a": 2}, 400, "{'a': ['Unknown field.'], 'b': ['Unknown field.']}"),
    ({"name": "x", "slots": 1, "occupied_slots": 4}, 400, "Property is read-only - 'occupied_slots'"),
    ({"name": "x", "slots": 1, "used_slots": 4}, 400, "Property is read-only - 'used_slots'"),
    ({"name": "x", "slots": "many"}, 400, "'many' is not of type 'integer' - 'slots'"),
    ({"name": "x", "slots": 1.5}, 400, "1.5 is not of type 'integer' - 'slots'"),
    ({"name": 7, "slots": 1}, 400, "7 is not of type 'string' - 'name'"),
    ({"name": None, "slots": 1}, 400, "None is not of type 'string' - 'name'"),
    ({"name": "x", "slots": None}, 400, "None is not of type 'integer' - 'slots'"),
    ({"name": "a" * 257, "slots": 1}, 400, "{'name': ['Longer than maximum length 256.']}"),
    ({"name": "etl", "slots": 1}, 409, "Pool: etl already exists"),
    ({"name": "default_pool", "slots": 1}, 409, "Pool: default_pool already exists"),
    ([{"name": "x", "slots": 1}], 400, "[{'name': 'x', 'slots': 1}] is not of type 'object'"),
])
def test_post_refusals_leave_the_store_unchanged(pvc: Client, body: Any, status: int, detail: str) -> None:
    before = pools_table(pvc)
    response = pvc.post("/api/v1/pools", json=body)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == detail
    assert pools_table(pvc) == before


def test_post_slots_minus_one_is_refused_instead_of_crashing_later(pvc: Client) -> None:
    before = pools_table(pvc)
    response = pvc.post("/api/v1/pools", json={"name": "unlimited", "slots": -1})
    assert response.status_code == 400
    assert "slots -1 (unlimited) is not supported" in response.json()["detail"]
    assert pools_table(pvc) == before


@pytest.mark.parametrize(("content", "content_type", "status", "detail"), [
    (b'{"name": "x", ', "application/json", 400, "Request body is not valid JSON"),
    (b"null", "application/json", 400, "Request body is not valid JSON"),
    (b"", "application/json", 400, "None is not of type 'object'"),
    (b'{"name": "x", "slots": 1}', "text/plain", 415, "Invalid Content-type (text/plain), expected JSON data"),
])
def test_post_malformed_bodies(pvc: Client, content: bytes, content_type: str, status: int, detail: str) -> None:
    before = pools_table(pvc)
    response = pvc.post("/api/v1/pools", content=content, headers={"content-type": content_type})
    assert (response.status_code, response.json()["detail"]) == (status, detail)
    assert pools_table(pvc) == before


def test_post_ignores_unknown_query_parameters(pvc: Client) -> None:
    assert pvc.post("/api/v1/pools", params={"x": 1}, json={"name": "q", "slots": 1}).status_code == 200


# --- patch_pool -------------------------------------------------------------------------------

def patch(client: Client, name: str, body: Any, mask: str | None = None) -> Any:
    params = {"update_mask": mask} if mask is not None else None
    return client.patch(f"/api/v1/pools/{quote(name)}", params=params, json=body)


def test_patch_without_mask_replaces_name_and_slots_and_keeps_description(pvc: Client) -> None:
    response = patch(pvc, "etl", {"name": "etl", "slots": 10})
    assert response.status_code == 200
    assert (response.json()["slots"], response.json()["description"]) == (10, "Nightly warehouse loads")
    assert patch(pvc, "etl", {"name": "etl", "slots": 10, "description": None}).json()["description"] is None


@pytest.mark.parametrize(("mask", "body", "slots", "description"), [
    ("slots", {"name": "etl", "slots": 9, "description": "ignored"}, 9, "Nightly warehouse loads"),
    ("description", {"name": "etl", "description": "third"}, 8, "third"),
    ("description", {"description": "no name needed"}, 8, "no name needed"),
    (" slots , description ", {"slots": 1, "description": "both"}, 1, "both"),
])
def test_patch_with_mask_writes_only_masked_fields(pvc: Client, mask: str, body: dict[str, Any],
                                                   slots: int, description: str) -> None:
    response = patch(pvc, "etl", body, mask)
    assert response.status_code == 200
    assert (response.json()["slots"], response.json()["description"]) == (slots, description)
    assert pvc.get("/api/v1/pools/etl").json() == response.json()


def test_patch_rename_moves_the_pool_and_keeps_its_place(pvc: Client) -> None:
    add_ti(pvc, "a", "gpu", "running")
    response = patch(pvc, "gpu", {"name": "cuda", "slots": 2})
    assert response.json()["name"] == "cuda"
    assert response.json()["occupied_slots"] == 0  # task instances keep naming the old pool
    assert pvc.get("/api/v1/pools/gpu").status_code == 404
    assert names(pvc.get("/api/v1/pools").json()) == ["default_pool", "etl", "cuda", "api_calls"]


def test_patch_rename_via_mask(pvc: Client) -> None:
    assert patch(pvc, "gpu", {"name": "cuda"}, "name").json()["name"] == "cuda"


def test_default_pool_slots_can_change(pvc: Client) -> None:
    assert patch(pvc, "default_pool", {"name": "default_pool", "slots": 64}).json()["slots"] == 64
    # a foreign name is tolerated when only slots are masked, and not written
    body = patch(pvc, "default_pool", {"name": "other", "slots": 32}, "slots").json()
    assert (body["name"], body["slots"]) == ("default_pool", 32)


@pytest.mark.parametrize(("name", "body", "mask", "status", "detail"), [
    ("default_pool", {"name": "dt_not_default", "slots": 128}, None, 400, "Default Pool's name can't be modified"),
    ("default_pool", {"name": "x", "slots": 1}, "slots,name", 400, "Default Pool's name can't be modified"),
    ("default_pool", {"name": "x"}, "name", 400, "Default Pool's name can't be modified"),
    ("nope", {"name": "nope", "slots": 1}, None, 404, "Pool with name:'nope' not found"),
    ("nope", {"name": "nope", "slots": 1, "colour": "red"}, None, 404, "Pool with name:'nope' not found"),
    ("etl", {"name": "etl", "slots": 1, "colour": "red"}, None, 400, "{'colour': ['Unknown field.']}"),
    ("etl", {"name": "etl"}, None, 400, "Missing required property(ies): ['slots']"),
    ("etl", {"description": "d"}, None, 400, "Missing required property(ies): ['name', 'slots']"),
    ("etl", {"name": "etl", "slots": 1}, "bogus", 400, "Invalid field: bogus in update mask"),
    ("etl", {"name": "etl", "slots": 1}, "slots,bogus", 400, "Invalid field: bogus in update mask"),
    ("etl", {"name": "etl", "slots": 1}, "", 400, "Invalid field:  in update mask"),
    ("etl", {"name": "etl"}, "slots", 400, "'slots' is in update_mask but missing from the request body"),
    ("etl", {"slots": 1}, "open_slots", 400, "'open_slots' is read-only and cannot be updated"),
    ("etl", {"name": "etl", "slots": -1}, None, 400, None),
    ("etl", {"slots": -1}, "slots", 400, None),
    ("etl", {"name": "gpu", "slots": 1}, None, 409, "Pool: gpu already exists"),
    ("etl", {"name": "default_pool"}, "name", 409, "Pool: default_pool already exists"),
    ("etl", {"name": "etl", "slots": "1"}, None, 400, "'1' is not of type 'integer' - 'slots'"),
    ("etl", {"name": "etl", "slots": 1, "queued_slots": 0}, None, 400, "Property is read-only - 'queued_slots'"),
])
def test_patch_refusals_leave_the_store_unchanged(pvc: Client, name: str, body: dict[str, Any],
                                                  mask: str | None, status: int, detail: str | None) -> None:
    before = pools_table(pvc)
    response = patch(pvc, name, body, mask)
    assert response.status_code == status
    if detail is not None:
        assert response.json()["detail"] == detail
    assert pools_table(pvc) == before


def test_patch_mask_repeated_uses_the_last(pvc: Client) -> None:
    response = pvc.patch("/api/v1/pools/etl?update_mask=bogus&update_mask=slots", json={"slots": 3})
    assert response.json()["slots"] == 3


# --- delete_pool ------------------------------------------------------------------------------

def test_delete_then_404(pvc: Client) -> None:
    response = pvc.delete("/api/v1/pools/gpu")
    assert (response.status_code, response.content) == (204, b"")
    assert pvc.get("/api/v1/pools/gpu").status_code == 404
    assert names(pvc.get("/api/v1/pools").json()) == ["default_pool", "etl", "api_calls"]
    again = pvc.delete("/api/v1/pools/gpu")
    assert (again.status_code, again.json()["detail"]) == (404, "Pool with name:'gpu' not found")


def test_delete_default_pool_is_refused(pvc: Client) -> None:
    before = pools_table(pvc)
    response = pvc.delete("/api/v1/pools/default_pool")
    assert (response.status_code, response.json()["detail"]) == (400, "Default Pool can't be deleted")
    assert pools_table(pvc) == before


def test_delete_keeps_task_instances(pvc: Client) -> None:
    add_ti(pvc, "a", "gpu", "running")
    assert pvc.delete("/api/v1/pools/gpu").status_code == 204
    assert ("d", "r", "a", -1) in pvc.app.store.state.task_instances


def test_created_pool_ids_continue_after_deletes(pvc: Client) -> None:
    pvc.delete("/api/v1/pools/api_calls")
    pvc.post("/api/v1/pools", json={"name": "api_calls", "slots": 1})
    assert names(pvc.get("/api/v1/pools", params={"order_by": "-id"}).json())[0] == "api_calls"


# --- permissions ------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/api/v1/pools", None),
    ("GET", "/api/v1/pools/etl", None),
    ("POST", "/api/v1/pools", {"name": "x", "slots": 1}),
    ("PATCH", "/api/v1/pools/etl", {"name": "etl", "slots": 1}),
    ("DELETE", "/api/v1/pools/etl", None),
])
@pytest.mark.parametrize(("user", "status"), [("viewer", 403), ("user", 403), ("op", None), ("nobody", 401)])
def test_only_op_and_admin_reach_pools(make_client: Callable[..., Client], method: str, path: str,
                                        body: Any, user: str, status: int | None) -> None:
    client = make_client(MINIMAL, PVC, auth=(user, user))
    before = pools_table(client)
    response = client.request(method, path, json=body)
    if status is None:
        assert response.status_code in (200, 204)
    else:
        assert response.status_code == status
        assert pools_table(client) == before


def test_an_empty_name_is_stored_and_only_the_list_shows_it(pvc: Client) -> None:
    # real 2.5.3: 200, and the pool is listed; no URL names it (`/pools/` is no route)
    made = pvc.post("/api/v1/pools", json={"name": "", "slots": 2})
    assert (made.status_code, made.json()["name"], made.json()["open_slots"]) == (200, "", 2)
    assert [pool["name"] for pool in pvc.get("/api/v1/pools").json()["pools"]][-1] == ""
    assert pvc.get("/api/v1/pools/").status_code == 404
    renamed = pvc.patch("/api/v1/pools/etl", json={"name": "", "slots": 1})
    assert renamed.status_code == 409  # the empty name is taken now


def test_a_pool_renamed_to_the_empty_name_keeps_its_place(pvc: Client) -> None:
    before = [pool["name"] for pool in pvc.get("/api/v1/pools").json()["pools"]]
    renamed = pvc.patch("/api/v1/pools/etl", json={"name": "", "slots": 1})
    assert (renamed.status_code, renamed.json()["name"]) == (200, "")
    assert [pool["name"] for pool in pvc.get("/api/v1/pools").json()["pools"]] == [
        "" if name == "etl" else name for name in before]
