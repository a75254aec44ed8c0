"""A `Page` of `Frozen` objects is judged by parts (its envelope, then each object once per
validator): the verdict must be the one the whole body gets, for every collection response of
the spec, valid bodies and near misses alike, asked once or again."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockflow.rendering import Frozen, Page
from mockflow.schemas import to_json_schema
from mockflow.spec import load_spec
from mockflow.verdicts import CompiledVerdicts, OpenAPICoreVerdicts, list_items_schema, response_schema
from tests.strategies import json_values, response_near_misses

SPEC = load_spec()
COMPILED = CompiledVerdicts(SPEC)
REFERENCE = OpenAPICoreVerdicts(SPEC)


def _list_keys(operation_id: str, status: str) -> list[str]:
    schema = to_json_schema(response_schema(SPEC, SPEC.operations[operation_id], status), "response")
    keys = {key for node in [schema, *schema.get("allOf", [])] for key in node.get("properties", {})}
    return sorted(key for key in keys if list_items_schema(schema, key) is not None)


COLLECTIONS = sorted((op_id, status) for op_id, op in SPEC.operations.items() for status in op.responses
                     if status.startswith("2") and op.responses[status].get("application/json") is not None
                     and _list_keys(op_id, status))


def _with_an_item_missed(body: Any) -> st.SearchStrategy[Any]:
    """The body, or the body with one value inside one item of one of its lists replaced: near
    misses of the envelope alone would leave the items, judged apart, always valid."""
    places = [(key, index) for key, value in body.items() if isinstance(value, list)
              for index, item in enumerate(value) if isinstance(item, dict) and item] if isinstance(body, dict) else []
    if not places:
        return st.just(body)

    @st.composite
    def missed(draw: st.DrawFn) -> Any:
        key, index = draw(st.sampled_from(places))
        item = dict(body[key][index])
        item[draw(st.sampled_from(sorted(item)))] = draw(json_values)
        return {**body, key: [*body[key][:index], item, *body[key][index + 1:]]}

    return st.one_of(st.just(body), missed())


def _as_page(body: Any) -> Any:
    """The body as a handler of shared objects would answer it: a Page whose lists hold Frozen dicts."""
    if not isinstance(body, dict):
        return body
    return Page({key: [Frozen(item) if isinstance(item, dict) else item for item in value]
                 if isinstance(value, list) else value for key, value in body.items()})


def test_the_collections_are_found() -> None:
    assert ("get_dags", "200") in COLLECTIONS and len(COLLECTIONS) >= 15


@pytest.mark.parametrize(("operation_id", "status"), COLLECTIONS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_page_gets_the_verdict_of_its_whole_body(operation_id: str, status: str, data: st.DataObject) -> None:
    op = SPEC.operations[operation_id]
    body = data.draw(response_near_misses(op, status).flatmap(_with_an_item_missed), label="body")
    whole = COMPILED.response_problem(op, int(status), body)
    page = _as_page(body)
    assert (COMPILED.response_problem(op, int(status), page) is None) == (whole is None)
    assert (COMPILED.response_problem(op, int(status), page) is None) == (whole is None)  # from kept verdicts
    assert (REFERENCE.response_problem(op, int(status), body) is None) == (whole is None)


def test_an_invalid_object_in_a_page_is_found_and_named() -> None:
    op = SPEC.operations["get_pools"]
    good = {"name": "p", "slots": 1, "occupied_slots": 0, "running_slots": 0, "queued_slots": 0,
            "scheduled_slots": 0, "open_slots": 1, "description": None}
    page = Page(pools=[Frozen(good), Frozen({**good, "slots": "many"})], total_entries=2)
    problem = COMPILED.response_problem(op, 200, page)
    assert problem is not None and "pools/1/slots" in problem
    assert COMPILED.response_problem(op, 200, Page(pools=[Frozen(good)], total_entries=1)) is None


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"items": {"type": "array", "items": {}, "minItems": 1}}},
    {"type": "object", "properties": {"items": {"type": "array", "items": {}}}, "patternProperties": {"i": {}}},
    {"type": "object", "properties": {"items": {"type": "array", "items": {}}}, "additionalProperties": {}},
    {"anyOf": [{"type": "object", "properties": {"items": {"type": "array", "items": {}}}}]},
    {"allOf": [{"properties": {"items": {"type": "array", "items": {}}}},
               {"properties": {"items": {"type": "array", "items": {"type": "object"}}}}]},
    {"type": "object", "properties": {"items": {"type": "object"}}},
])
def test_an_envelope_that_looks_at_its_list_otherwise_is_judged_whole(schema: dict[str, Any]) -> None:
    assert list_items_schema(schema, "items") is None


def test_a_plain_envelope_gives_its_items_schema() -> None:
    items = {"type": "object", "required": ["a"]}
    listed = {"type": "object", "properties": {"items": {"type": "array", "items": items}}}
    schema = {"type": "object", "allOf": [listed, {"type": "object", "properties": {"total": {"type": "integer"}}}]}
    assert list_items_schema(schema, "items") == items
