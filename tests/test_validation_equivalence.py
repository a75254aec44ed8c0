"""The compiled fast path must give the same verdicts as plain openapi-core, the validator of record.

Hypothesis builds a corpus of valid instances and near misses (a node replaced, dropped, a
read-only or write-only property added, formats missed, nulls) for every request body, every query
parameter set and every success response of the spec, and both engines judge each one.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockflow.spec import Operation, load_spec
from mockflow.verdicts import CompiledVerdicts, OpenAPICoreVerdicts, RawRequest, _wire
from tests.strategies import instances, near_misses, response_near_misses

SPEC = load_spec()
COMPILED = CompiledVerdicts(SPEC)
REFERENCE = OpenAPICoreVerdicts(SPEC)

BODY_OPERATIONS = sorted(op_id for op_id, op in SPEC.operations.items() if op.body_schema is not None)
QUERY_OPERATIONS = sorted(op_id for op_id, op in SPEC.operations.items() if op.query_parameters())
RESPONSES = sorted(
    (op_id, status)
    for op_id, op in SPEC.operations.items()
    for status, content in op.responses.items()
    if status.startswith("2") and (content.get("application/json") is not None)
)
CORPUS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _path_params(op: Operation) -> dict[str, Any]:
    return {p.name: (1 if p.schema.get("type") == "integer" else "x") for p in op.parameters if p.location == "path"}


def _raw(op: Operation, query: dict[str, Any], body: Any) -> RawRequest:
    pairs: list[tuple[str, str]] = []
    for name, value in query.items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, _wire(item)))
    return RawRequest(_path_params(op), pairs, "application/json", b"")


@pytest.mark.parametrize("operation_id", BODY_OPERATIONS)
@CORPUS
@given(data=st.data())
def test_request_bodies_get_the_same_verdict(operation_id: str, data: st.DataObject) -> None:
    op = SPEC.operations[operation_id]
    assert op.body_schema is not None
    body = data.draw(near_misses(op.body_schema, "request"), label="body")
    query = {p.name: "x" for p in op.query_parameters() if p.required}  # only string ones are required
    raw = _raw(op, query, body)
    assert COMPILED.request_ok(op, raw, query, body) == REFERENCE.request_ok(op, raw, query, body)


@pytest.mark.parametrize("operation_id", QUERY_OPERATIONS)
@CORPUS
@given(data=st.data())
def test_query_parameters_get_the_same_verdict(operation_id: str, data: st.DataObject) -> None:
    op = SPEC.operations[operation_id]
    query: dict[str, Any] = {}
    for param in op.query_parameters():
        if param.required or data.draw(st.booleans(), label=f"send {param.name}"):
            query[param.name] = data.draw(instances(param.schema, "request"), label=param.name)
    body: dict[str, Any] | None = None if op.body_schema is None else {}
    raw = _raw(op, query, body)
    assert COMPILED.request_ok(op, raw, query, body) == REFERENCE.request_ok(op, raw, query, body)


@pytest.mark.parametrize(("operation_id", "status"), RESPONSES)
@CORPUS
@given(data=st.data())
def test_responses_get_the_same_verdict(operation_id: str, status: str, data: st.DataObject) -> None:
    op = SPEC.operations[operation_id]
    body = data.draw(response_near_misses(op, status), label="body")
    compiled = COMPILED.response_problem(op, int(status), body)
    reference = REFERENCE.response_problem(op, int(status), body)
    assert (compiled is None) == (reference is None), (compiled, reference)


@CORPUS
@given(data=st.data())
def test_error_bodies_get_the_same_verdict(data: st.DataObject) -> None:
    op = SPEC.operations["get_pools"]
    body = data.draw(near_misses(SPEC.schemas["Error"], "response"), label="problem")
    status = data.draw(st.sampled_from([400, 401, 403, 404, 409, 415, 500]))
    compiled, reference = COMPILED.response_problem(op, status, body), REFERENCE.response_problem(op, status, body)
    assert (compiled is None) == (reference is None), (compiled, reference)


# Fixed examples, so the corpus above cannot pass by judging everything the same way.
KNOWN = [
    ("post_pool", {"name": "p", "slots": 2}, True),
    ("post_pool", {"name": "p", "slots": "two"}, False),
    ("post_pool", {"name": "p", "occupied_slots": 1}, False),  # read-only
    ("post_dag_run", {"logical_date": "2021-01-01T00:00:00+00:00"}, True),
    ("post_dag_run", {"logical_date": "2021-01-01T00:00:00"}, False),  # naive
    ("post_dag_run", {"conf": [1, 2]}, False),
    ("post_connection", {"connection_id": "c", "conn_type": "http", "port": 1.0}, False),  # draft 4: not an integer
    ("update_dag_run_state", {"state": "running"}, False),
    ("post_set_task_instances_state", {"task_id": "t", "new_state": "success"}, True),
    ("set_task_instance_note", {}, False),  # note is required
]


@pytest.mark.parametrize(("operation_id", "body", "valid"), KNOWN)
def test_known_bodies_get_the_expected_verdict(operation_id: str, body: Any, valid: bool) -> None:
    op = SPEC.operations[operation_id]
    query = {p.name: "x" for p in op.query_parameters() if p.required}
    raw = _raw(op, query, body)
    assert COMPILED.request_ok(op, raw, query, body) is valid
    assert REFERENCE.request_ok(op, raw, query, body) is valid
