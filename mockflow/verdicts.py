"""The two engines that judge requests and responses against a spec; they must agree
(tests/test_validation_equivalence.py proves it).

* `CompiledVerdicts` (default): each operation's parameter, body and response schemas are
  converted once to JSON Schema and compiled with jsonschema-rs, per spec.
* `OpenAPICoreVerdicts`: plain openapi-core, the validator of record.

They only say yes or no (and, for responses, where): the words of a 400 are `validation.py`'s.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Protocol

import jsonschema_rs
import orjson

from mockflow.rendering import Frozen, Page
from mockflow.schemas import to_json_schema
from mockflow.spec import Operation, Spec
from mockflow.values import value_class

JSON = dict[str, Any]


@value_class(slots=True)
class RawRequest:
    """What arrived, before any validation."""

    path_params: dict[str, Any]
    query: list[tuple[str, str]]
    content_type: str | None
    body: bytes



class Verdicts(Protocol):
    def request_ok(self, op: Operation, raw: RawRequest, query: dict[str, Any], body: Any) -> bool: ...

    def response_problem(self, op: Operation, status: int, data: Any) -> str | None: ...


class CompiledVerdicts:
    """jsonschema-rs validators compiled once per spec and operation part, reused for every call."""

    def __init__(self, spec: Spec) -> None:
        self._spec = spec

    def request_ok(self, op: Operation, raw: RawRequest, query: dict[str, Any], body: Any) -> bool:
        for param in op.query_parameters():
            if param.name in query and not _compiled(self._spec, op.operation_id,
                                                     "q:" + param.name).is_valid(query[param.name]):
                return False
        return op.body_schema is None or bool(_compiled(self._spec, op.operation_id, "body").is_valid(body))

    def response_problem(self, op: Operation, status: int, data: Any) -> str | None:
        part = f"response:{_response_key(op, status)}"
        validator = _compiled(self._spec, op.operation_id, part)
        if type(data) is Page and _page_ok(self._spec, op.operation_id, part, validator, data):
            return None
        if validator.is_valid(data):
            return None
        error = next(iter(validator.iter_errors(data)))
        return f"{error.message} at {'/'.join(str(p) for p in error.instance_path) or '<root>'}"


# --- pages of shared objects ------------------------------------------------------------------
#
# A `Page` (`GET /dags`) lists `Frozen` objects that are the same request after request, and that
# never change: each is judged once against the schema of the list's items, and the page then
# only needs its envelope judged (its lists emptied). That is the same verdict as judging the
# whole page whenever the schema constrains those lists by their `items` alone, which is checked
# when the items' schema is derived; any other shape is judged whole, as every other answer is.

def _page_ok(spec: Spec, operation_id: str, part: str, validator: Any, page: Page) -> bool:
    """True when the page is valid, judged by parts; False means "judge it whole" (it may still be)."""
    lists = page.frozen_lists()
    item_validators = [_item_validator(spec, operation_id, part, key) for key in lists]
    hollow = {**page, **{key: [] for key in lists}}
    if not lists or any(found is None for found in item_validators) or not validator.is_valid(hollow):
        return False
    for key, item_validator in zip(lists, item_validators, strict=True):
        for item in page[key]:
            if type(item) is Frozen:
                if not item.accepted_by(item_validator):
                    return False
            elif not item_validator.is_valid(item):
                return False
    return True


@functools.cache
def _item_validator(spec: Spec, operation_id: str, part: str, key: str) -> Any:
    """The compiled schema of the items of the `key` list of a response, or None when the
    response's schema constrains that list otherwise than by its items' schema."""
    op = spec.operations[operation_id]
    items = list_items_schema(to_json_schema(response_schema(spec, op, part.split(":", 1)[1]), "response"), key)
    return None if items is None else jsonschema_rs.Draft4Validator(items, validate_formats=True)


# The keywords an envelope may use for judging by parts to be exact: none of them looks at the
# value of a declared property except through `properties`.
_ENVELOPE_KEYWORDS = frozenset({"type", "properties", "required", "allOf", "title", "description"})


def list_items_schema(schema: JSON, key: str) -> JSON | None:
    """The items' schema of the `key` list, if the envelope (the schema and its `allOf` branches)
    uses only plain keywords, declares `key` once, and as `{"type": "array", "items": ...}`."""
    found: list[JSON] = []
    pending = [schema]
    while pending:
        node = pending.pop()
        if not isinstance(node, dict) or not set(node) <= _ENVELOPE_KEYWORDS:
            return None
        pending.extend(node.get("allOf", ()))
        declared = node.get("properties", {}).get(key)
        if declared is not None:
            found.append(declared)
    if len(found) != 1 or not set(found[0]) <= {"type", "items"} or not isinstance(found[0].get("items"), dict):
        return None
    kind = found[0].get("type")
    if kind != "array" and not (isinstance(kind, list) and "array" in kind):
        return None
    items: JSON = found[0]["items"]
    return items


def _response_key(op: Operation, status: int) -> str:
    return "error" if status >= 400 else str(status)


@functools.cache
def _compiled(spec: Spec, operation_id: str, part: str) -> Any:
    op = spec.operations[operation_id]
    if part == "body":
        schema = to_json_schema(op.body_schema or {}, "request")
    elif part.startswith("q:"):
        param = next(p for p in op.query_parameters() if p.name == part[2:])
        schema = to_json_schema(param.schema, "request")
    else:
        schema = to_json_schema(response_schema(spec, op, part.split(":", 1)[1]), "response")
    # Draft 4, like the real server's validator: there 1.0 is not an integer.
    return jsonschema_rs.Draft4Validator(schema, validate_formats=True)


def response_schema(spec: Spec, op: Operation, key: str) -> JSON:
    """The schema a JSON response must satisfy; problem documents always follow `Error`."""
    if key == "error":
        return spec.schemas["Error"]
    content = op.responses.get(key)
    if content is None:
        # A success status the spec does not list for this operation is a mockflow bug.
        return {"not": {}}
    return content.get("application/json") or {}


class OpenAPICoreVerdicts:
    """Plain openapi-core, the validator of record (slower: it re-reads the spec on each call)."""

    def __init__(self, spec: Spec) -> None:
        from openapi_core import OpenAPI
        from openapi_core.configurations import Config

        self._spec = spec
        self._api = OpenAPI.from_dict(spec.raw, config=Config(spec_validator_cls=None))

    def request_ok(self, op: Operation, raw: RawRequest, query: dict[str, Any], body: Any) -> bool:
        from openapi_core.testing import MockRequest
        from openapi_core.validation.request.validators import (
            V30RequestBodyValidator,
            V30RequestParametersValidator,
        )

        args: dict[str, Any] = {}
        for name, value in raw.query:
            args[name] = value  # last wins, as on the real server; arrays are checked typed below
        request = MockRequest(
            "http://mockflow",
            op.method.lower(),
            self._spec.prefix + _fill_path(op.path, raw.path_params),
            path_pattern=self._spec.prefix + op.path,
            args=_scalar_args(op, query, args),
            view_args={k: str(v) for k, v in raw.path_params.items()},
            data=orjson.dumps(body) if body is not None else b"",
            content_type="application/json",
        )
        if not self._empty_values_ok(op, query):
            return False
        for validator_cls in (V30RequestParametersValidator, V30RequestBodyValidator):
            if op.body_schema is None and validator_cls is V30RequestBodyValidator:
                continue
            if body is None and validator_cls is V30RequestBodyValidator:
                # openapi-core treats an absent optional body as valid; the real server does not.
                return False
            if any(True for _ in validator_cls(self._api.spec).iter_errors(request)):
                return False
        return not (op.body_schema is not None and body is None)

    @staticmethod
    def _empty_values_ok(op: Operation, query: Mapping[str, Any]) -> bool:
        """Empty query values, which openapi-core refuses outright, judged by its schema validator."""
        from openapi_schema_validator import OAS30WriteValidator, oas30_format_checker

        for param in op.query_parameters():
            values = query.get(param.name)
            empties = [v for v in values if v == ""] if isinstance(values, list) else [values]
            if "" in empties:
                schema = param.schema.get("items", {}) if param.is_array else param.schema
                if not OAS30WriteValidator(schema, format_checker=oas30_format_checker).is_valid(""):
                    return False
        return True

    def response_problem(self, op: Operation, status: int, data: Any) -> str | None:
        from openapi_schema_validator import OAS30ReadValidator

        if status >= 400 or str(status) not in op.responses:
            schema = self._spec.schemas["Error"] if status >= 400 else {"not": {}}
            errors = list(OAS30ReadValidator(schema).iter_errors(data))
            return str(errors[0].message) if errors else None
        from openapi_core.testing import MockRequest, MockResponse
        from openapi_core.validation.response.validators import V30ResponseDataValidator

        url = self._spec.prefix + op.path
        request = MockRequest("http://mockflow", op.method.lower(), url, path_pattern=url)
        response = MockResponse(orjson.dumps(data), status_code=status, content_type="application/json")
        for error in V30ResponseDataValidator(self._api.spec).iter_errors(request, response):
            return str(getattr(error, "__cause__", None) or error)
        return None


def _fill_path(template: str, params: Mapping[str, Any]) -> str:
    path = template
    for name, value in params.items():
        path = path.replace("{" + name + "}", str(value))
    return path


def _scalar_args(op: Operation, typed: Mapping[str, Any], raw_last: dict[str, Any]) -> Any:
    """openapi-core reads query strings itself; hand it arrays as repeated values."""
    from werkzeug.datastructures import ImmutableMultiDict  # shipped with openapi-core's deps

    items: list[tuple[str, str]] = []
    for param in op.query_parameters():
        if param.name not in raw_last:
            continue
        value = typed[param.name]
        values = [_wire(v) for v in value] if isinstance(value, list) else [_wire(value)]
        # openapi-core refuses empty values (allowEmptyValue defaults to false); the real server
        # accepts them (`order_by=` reaches the handler), so mockflow does too.
        # Empty values are judged apart (`_empty_values_ok`); a required one stays present.
        items.extend((param.name, v or "x") for v in values if v != "" or param.required)
    return ImmutableMultiDict(items)


def _wire(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
