"""Hypothesis strategies that build instances of the spec's (resolved OpenAPI 3.0) schemas, and
near-misses of them, to feed both validator engines."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

from mockflow.spec import Operation

JSON = dict[str, Any]

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**31), 2**31), st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)

date_times = st.one_of(
    st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)).map(
        lambda d: d.isoformat()
    ),
    st.sampled_from(["2021-01-01T00:00:00Z", "2021-01-01T00:00:00+02:00", "2021-01-01T00:00:00.123456z"]),
    # near misses: naive, date only, space separator, garbage
    st.sampled_from(["2021-01-01T00:00:00", "2021-01-01", "2021-01-01 00:00:00+00:00", "yesterday", ""]),
)


def instances(schema: JSON, direction: str = "response", depth: int = 0) -> st.SearchStrategy[Any]:
    """Values shaped by `schema`: valid most of the time, but formats and nulls are free to miss."""
    if depth > 6:
        return st.none()
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            return st.one_of([instances(s, direction, depth + 1) for s in schema[keyword]])
    if "allOf" in schema:
        merged: JSON = {}
        for sub in schema["allOf"]:
            merged = _merge(merged, sub)
        rest = {k: v for k, v in schema.items() if k != "allOf"}
        return instances(_merge(merged, rest), direction, depth + 1)
    base = _typed(schema, direction, depth)
    if schema.get("nullable"):
        return st.one_of(st.none(), base)
    return base


def _merge(a: JSON, b: JSON) -> JSON:
    out = dict(a)
    for key, value in b.items():
        if key == "properties":
            out["properties"] = {**a.get("properties", {}), **value}
        elif key == "required":
            out["required"] = [*a.get("required", []), *value]
        else:
            out[key] = value
    return out


def _typed(schema: JSON, direction: str, depth: int) -> st.SearchStrategy[Any]:
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return _objects(schema, direction, depth)
    if kind == "array":
        item = instances(schema.get("items", {}), direction, depth + 1)
        return st.lists(item, min_size=schema.get("minItems", 0), max_size=3)
    if kind == "integer":
        return st.integers(schema.get("minimum", -5) - 1, schema.get("maximum", 10**6))
    if kind == "number":
        return st.one_of(st.integers(-5, 100), st.floats(-5, 100))
    if kind == "boolean":
        return st.booleans()
    if kind == "string":
        if schema.get("format") == "date-time":
            return date_times
        if "pattern" in schema:
            return st.one_of(st.from_regex(schema["pattern"], fullmatch=True), st.text(max_size=5))
        return st.text(max_size=10)
    return json_values


def _objects(schema: JSON, direction: str, depth: int) -> st.SearchStrategy[Any]:
    props: JSON = schema.get("properties", {})
    skipped = "readOnly" if direction == "request" else "writeOnly"
    required = [n for n in schema.get("required", []) if n in props and not props[n].get(skipped)]
    optional = [n for n in props if n not in required and not props[n].get(skipped)]
    fixed = {name: instances(props[name], direction, depth + 1) for name in required}
    extra = {name: instances(props[name], direction, depth + 1) for name in optional}
    return st.fixed_dictionaries(fixed, optional=extra)


@st.composite
def near_misses(draw: st.DrawFn, schema: JSON, direction: str = "response") -> Any:
    """A valid-looking instance with, sometimes, one node replaced, dropped or added."""
    value = draw(instances(schema, direction))
    mutation = draw(st.sampled_from(["none", "replace", "drop", "forbidden", "whole"]))
    if mutation == "whole":
        return draw(json_values)
    if not isinstance(value, dict) or not value or mutation == "none":
        return value
    key = draw(st.sampled_from(sorted(value)))
    if mutation == "replace":
        value[key] = draw(json_values)
    elif mutation == "drop":
        del value[key]
    else:
        flag = "readOnly" if direction == "request" else "writeOnly"
        forbidden = [n for n, p in schema.get("properties", {}).items() if isinstance(p, dict) and p.get(flag)]
        if forbidden:
            value[draw(st.sampled_from(forbidden))] = draw(json_scalars)
    return value


def response_near_misses(op: Operation, status: str) -> st.SearchStrategy[Any]:
    """Near misses of the JSON body `op` answers with `status`."""
    schema = op.responses[status]["application/json"]
    assert schema is not None
    return near_misses(schema, "response")
