"""Request and response validation: every request before its handler, every response before it leaves.

Two engines give the verdicts and must agree (tests/test_validation_equivalence.py proves it):

* `compiled` (default): each operation's parameter, body and response schemas are converted once
  to JSON Schema and compiled with jsonschema-rs; query coercion is known in advance.
* `openapi-core`: plain openapi-core, the validator of record, selectable with
  `Settings(validation="openapi-core")`.

`off` skips both (benchmarks only). Whatever the engine, the *text* of a 400 is built the way the
real server builds it (connexion's wording, see `schemas.MessageValidator`), and only once a request
is already known to be invalid, so the fast path never pays for it.
"""

from __future__ import annotations

import functools
import pprint
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

import jsonschema_rs
import orjson

from mockflow.problems import BadRequest, ResponseInvalid, UnsupportedMediaType
from mockflow.schemas import body_message, first_error, to_json_schema
from mockflow.spec import Operation, Parameter, Spec

JSON = dict[str, Any]
Engine = Literal["compiled", "openapi-core", "off"]


@dataclass(slots=True)
class RawRequest:
    """What arrived, before any validation."""

    path_params: dict[str, Any]
    query: list[tuple[str, str]]
    content_type: str | None
    body: bytes


@dataclass(slots=True)
class ValidRequest:
    """What a handler receives: typed parameters and the parsed JSON body."""

    path: dict[str, Any]
    query: dict[str, Any]
    body: Any
    raw_query: list[tuple[str, str]]


# --- query parameters: connexion's parsing and wording ---------------------------------------

def parse_query(op: Operation, query: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Coerce query values to their declared types, with the real server's 400 texts."""
    declared = {p.name: p for p in op.query_parameters()}
    if op.declares_parameters:
        extra = sorted({name for name, _ in query if name not in declared})
        if extra:
            raise BadRequest(f"Extra query parameter(s) {', '.join(extra)} not in spec", title=None)
    values: dict[str, Any] = {}
    for param in declared.values():
        sent = [value for name, value in query if name == param.name]
        if not sent:
            if param.required:
                raise BadRequest(f"Missing query parameter '{param.name}'")
            if "default" in param.schema:
                values[param.name] = param.schema["default"]
            continue
        values[param.name] = _coerce_parameter(param, sent)
    return values


def _coerce_parameter(param: Parameter, sent: list[str]) -> Any:
    if param.is_array:
        item_type = param.schema.get("items", {}).get("type", "string")
        if param.name == "update_mask":  # repeated: only the last occurrence counts
            sent = sent[-1:]
        parts = [part for value in sent for part in value.split(",")]
        return [_coerce_scalar(param.name, item_type, part) for part in parts]
    return _coerce_scalar(param.name, param.schema.get("type", "string"), sent[-1])


def _coerce_scalar(name: str, kind: str, value: str) -> Any:
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
        if kind == "boolean":
            lowered = value.lower()
            if lowered in ("true", "false"):
                return lowered == "true"
            raise ValueError(value)
    except ValueError:
        raise BadRequest(f"Wrong type, expected '{kind}' for query parameter '{name}'") from None
    return value


def parameter_message(op: Operation, query: Mapping[str, Any]) -> str | None:
    """The first parameter schema violation, as the full jsonschema text the server sends."""
    for param in op.query_parameters():
        if param.name in query:
            error = first_error(param.schema, query[param.name])
            if error is not None:
                return full_error_text(error)
    return None


def full_error_text(error: Any) -> str:
    """jsonschema's long message as the real server's jsonschema 3 printed it (sorted schema keys)."""
    schema = textwrap.indent(pprint.pformat(error.schema, width=72), "    ")
    instance = textwrap.indent(pprint.pformat(error.instance, width=72), "    ")
    return (f"{error.message}\n\nFailed validating {error.validator!r} in schema:\n{schema}\n\n"
            f"On instance:\n{instance}")


# --- bodies ----------------------------------------------------------------------------------

JSON_TYPES = ("application/json", "application/problem+json")


def parse_body(op: Operation, raw: RawRequest) -> Any:
    """Parse the JSON body of an operation that takes one; `None` when nothing was sent."""
    if op.body_schema is None:
        return None
    media = (raw.content_type or "").split(";")[0].strip().lower()
    if raw.body and not (media in JSON_TYPES or media.endswith("+json")):
        raise UnsupportedMediaType(raw.content_type or "")
    if not raw.body:
        return None
    try:
        body = orjson.loads(raw.body)
    except orjson.JSONDecodeError:
        raise BadRequest("Request body is not valid JSON") from None
    if body is None:
        raise BadRequest("Request body is not valid JSON")
    return body


def body_error_message(op: Operation, body: Any) -> str | None:
    assert op.body_schema is not None
    error = first_error(op.body_schema, body)
    return None if error is None else body_message(error)


# --- engines ---------------------------------------------------------------------------------

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
        validator = _compiled(self._spec, op.operation_id, f"response:{_response_key(op, status)}")
        if validator.is_valid(data):
            return None
        error = next(iter(validator.iter_errors(data)))
        return f"{error.message} at {'/'.join(str(p) for p in error.instance_path) or '<root>'}"


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


class Validator:
    """The seam the app calls: request checks with Airflow's texts, response checks that fail loudly."""

    def __init__(self, engine: Engine, spec: Spec) -> None:
        self.engine = engine
        self._spec = spec
        self._verdicts: Verdicts | None = None
        if engine == "compiled":
            self._verdicts = CompiledVerdicts(spec)
        elif engine == "openapi-core":
            self._verdicts = OpenAPICoreVerdicts(self._spec)

    def check_request(self, op: Operation, raw: RawRequest) -> ValidRequest:
        query = parse_query(op, raw.query)
        body = parse_body(op, raw)
        if self._verdicts is not None and not self._verdicts.request_ok(op, raw, query, body):
            raise BadRequest(self._explain(op, query, body))
        return ValidRequest(path=raw.path_params, query=query, body=body, raw_query=raw.query)

    def _explain(self, op: Operation, query: dict[str, Any], body: Any) -> str:
        message = parameter_message(op, query)
        if message is None and op.body_schema is not None:
            message = body_error_message(op, body)
        return message or "The request does not conform to the specification"

    def check_response(self, op: Operation, status: int, data: Any) -> None:
        if self._verdicts is None:
            return
        problem = self._verdicts.response_problem(op, status, data)
        if problem is not None:
            raise ResponseInvalid(f"{op.operation_id} {status}: {problem}")
