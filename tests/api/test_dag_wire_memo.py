"""The DAG objects' memo (api/shapes/dags.py): every way a DAG record changes shows at the next
read, and a memoized object always equals one built afresh from the record."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from mockflow.api.shapes import dags as shapes
from mockflow.store.dags import has_import_errors
from mockflow.store.records import Dag, ImportErrorRecord
from tests.conftest import FIXTURES, MINIMAL, Client

DAGS_BASIC = FIXTURES / "dags_basic"
V1 = "/api/v1"


@pytest.fixture
def client(make_client: Callable[..., Client]) -> Client:
    return make_client(DAGS_BASIC)


def _listed(client: Client, dag_id: str) -> dict[str, Any]:
    response = client.get(f"{V1}/dags", params={"limit": 100})
    assert response.status_code == 200
    found: dict[str, Any] = next(dag for dag in response.json()["dags"] if dag["dag_id"] == dag_id)
    return found


def _all_views(client: Client, dag_id: str) -> tuple[Any, Any, Any]:
    one = client.get(f"{V1}/dags/{dag_id}").json()
    details = client.get(f"{V1}/dags/{dag_id}/details").json()
    return _listed(client, dag_id), one, details


def _fresh(client: Client, dag_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the builders make from the record now, without the memo."""
    state = client.app.store.state
    dag = state.dags[dag_id]
    return ({**shapes._dag_part(dag), "has_import_errors": has_import_errors(state, dag)},
            shapes._details(dag))


def _assert_fresh(client: Client, dag_id: str) -> None:
    listed, one, details = _all_views(client, dag_id)
    dag_object, details_object = _fresh(client, dag_id)
    assert listed == one == dag_object and details == details_object


def test_patching_a_dag_shows_in_the_list_the_object_and_the_details(client: Client) -> None:
    assert _listed(client, "etl_orders")["is_paused"] is False
    response = client.patch(f"{V1}/dags/etl_orders", json={"is_paused": True})
    assert response.status_code == 200 and response.json()["is_paused"] is True
    listed, one, details = _all_views(client, "etl_orders")
    assert listed["is_paused"] is one["is_paused"] is details["is_paused"] is True
    _assert_fresh(client, "etl_orders")


def test_a_bulk_patch_and_the_undo_of_a_reset_show_at_the_next_read(client: Client) -> None:
    before = _all_views(client, "fan_out")
    response = client.patch(f"{V1}/dags", params={"dag_id_pattern": "fan"}, json={"is_paused": True})
    assert response.status_code == 200 and [dag["is_paused"] for dag in response.json()["dags"]] == [True]
    assert _listed(client, "fan_out")["is_paused"] is True
    undone = client.app.control.reset()["changes_undone"]
    assert isinstance(undone, int) and undone > 0  # the undo log, not a thaw
    assert _all_views(client, "fan_out") == before
    _assert_fresh(client, "fan_out")


def test_a_state_import_and_the_thaw_of_its_reset_show_at_the_next_read(make_client: Callable[..., Client]) -> None:
    # The minimal set: dags_basic does not survive an export (its subdag's file overwrites its parent's).
    client = make_client(MINIMAL)
    before = _all_views(client, "sales_daily")
    exported = client.app.control.get_state()
    for dag_file in exported.values():
        if isinstance(dag_file, dict) and dag_file.get("dag_id") == "sales_daily":
            dag_file["description"] = "imported description"
    client.app.control.put_state(exported)
    assert {view["description"] for view in _all_views(client, "sales_daily")} == {"imported description"}
    assert client.app.control.reset()["changes_undone"] is None  # after an import, a thaw
    assert _all_views(client, "sales_daily") == before


def test_writes_straight_to_the_record_and_its_lists_show_at_the_next_read(client: Client) -> None:
    _all_views(client, "etl_orders")  # memoized now
    dag = client.app.store.state.dags["etl_orders"]
    dag.description = "written directly"
    dag.owners.append("second_owner")
    dag.tags.append("added_tag")
    dag.wire["last_parsed_time"] = "2031-05-06T07:08:09+00:00"
    listed, _, details = _all_views(client, "etl_orders")
    assert listed["description"] == details["description"] == "written directly"
    assert listed["owners"][-1] == details["owners"][-1] == "second_owner"
    assert {"name": "added_tag"} in listed["tags"] and {"name": "added_tag"} in details["tags"]
    assert listed["last_parsed_time"] == "2031-05-06T07:08:09+00:00"
    _assert_fresh(client, "etl_orders")


def test_import_errors_are_read_at_every_request(client: Client) -> None:
    state = client.app.store.state
    dag = state.dags["etl_orders"]
    assert _listed(client, "etl_orders")["has_import_errors"] is False
    state.import_errors[999] = ImportErrorRecord(import_error_id=999, timestamp=datetime(2031, 1, 1, tzinfo=UTC),
                                                 filename=dag.fileloc, stack_trace="boom")
    assert _listed(client, "etl_orders")["has_import_errors"] is True
    del state.import_errors[999]
    assert _listed(client, "etl_orders")["has_import_errors"] is False


def test_a_shared_object_refuses_changes_and_a_callers_copy_is_its_own(client: Client) -> None:
    state = client.app.store.state
    first = shapes.dag_to_wire(state, state.dags["etl_orders"])
    with pytest.raises(TypeError, match="shared"):
        first["description"] = "changed by a caller"
    with pytest.raises(TypeError, match="shared"):
        first.pop("tags")
    mine = dict(first)
    mine["description"] = "changed by a caller"
    mine.pop("tags")
    again = shapes.dag_to_wire(state, state.dags["etl_orders"])
    assert again is first and again["description"] != "changed by a caller" and "tags" in again


@pytest.mark.parametrize("seed", range(20))
def test_a_memoized_object_always_equals_a_fresh_one(seed: int) -> None:
    """Random writes to random fields of records that come and go (ids get reused)."""
    rng = random.Random(seed)
    values: dict[str, list[Any]] = {
        "is_paused": [True, False, None], "description": [None, "a", "b"], "owners": [["x"], ["x", "y"], []],
        "tags": [["t1"], ["t2", "t1"], []], "stored_tag_order": [None, ["t1", "t2"]],
        "schedule_interval": [None, {"__type": "CronExpression", "value": "@daily"}],
        "max_active_tasks": [1, 16], "start_date": [None, datetime(2024, 1, 1, tzinfo=UTC)],
        "wire": [{}, {"last_parsed_time": "2024-01-01T00:00:00+00:00"}, {"doc_md": "d"}],
        "timetable_description": [None, "daily"], "is_active": [True, False],
    }
    records = [Dag(dag_id=f"d{number}", fileloc=f"/dags/d{number}.py") for number in range(3)]
    for _ in range(60):
        action = rng.random()
        if action < 0.15:  # a new record, perhaps at the address of a freed one
            records[rng.randrange(len(records))] = Dag(dag_id=rng.choice(["d0", "d1"]), fileloc="/dags/x.py")
        elif action < 0.3:  # a change inside one of its lists or dicts
            dag = rng.choice(records)
            rng.choice([dag.owners, dag.tags]).append(rng.choice(["p", "q"]))
        else:
            name = rng.choice(sorted(values))
            setattr(rng.choice(records), name, rng.choice(values[name]))
        dag = rng.choice(records)
        assert shapes._dag_memo(dag).part == shapes._dag_part(dag)
        assert shapes._details_memo(dag).part == shapes._details(dag)
