"""Request and response validation: every request before its handler, every response before it leaves.

Two engines give the verdicts (`mockflow.verdicts`): `compiled` (default, jsonschema-rs) and
`openapi-core` (the validator of record, `Settings(validation="openapi-core")`); `off` skips both
(benchmarks only). Whatever the engine, the *text* of a 400 is built the way the
real server builds it (connexion's wording, see `schemas.first_error`), and only once a request
is already known to be invalid, so the fast path never pays for it.
"""

from __future__ import annotations

import json
import pprint
import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import orjson

from mockflow.limits import DEFAULT_MAX_JSON_DEPTH, depth_message, scan
from mockflow.problems import BadRequest, ResponseInvalid, UnsupportedMediaType
from mockflow.schemas import body_message, first_error
from mockflow.spec import Operation, Parameter, Spec
from mockflow.values import value_class
from mockflow.verdicts import CompiledVerdicts, OpenAPICoreVerdicts, RawRequest, Verdicts

__all__ = ["RawRequest", "ValidRequest", "Validator"]

JSON = dict[str, Any]
Engine = Literal["compiled", "openapi-core", "off"]


@value_class(slots=True)
class ValidRequest:
    """What a handler receives: typed parameters and the parsed JSON body."""

    path: dict[str, Any]
    query: dict[str, Any]
    body: Any
    raw_query: list[tuple[str, str]]


# --- query parameters: connexion's parsing and wording ---------------------------------------

def parse_query(op: Operation, query: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Coerce query values to their declared types, with the real server's 400 texts."""
    declared = op.query_parameter_names()
    if op.declares_parameters and query:
        extra = sorted({name for name, _ in query if name not in declared})
        if extra:
            raise BadRequest(f"Extra query parameter(s) {', '.join(extra)} not in spec", title=None)
    values: dict[str, Any] = {}
    for param in declared.values():
        sent = [value for name, value in query if name == param.name] if query else None
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


def parse_body(op: Operation, raw: RawRequest, max_depth: int = DEFAULT_MAX_JSON_DEPTH,
               depth_setting: str = "MOCKFLOW_MAX_JSON_DEPTH") -> Any:
    """Parse the JSON body of an operation that takes one; `None` when nothing was sent. A body
    nested deeper than `max_depth` is refused: stored, it could never be written back."""
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
    long_digits = _LONG_DIGITS.search(raw.body) is not None
    if long_digits:
        try:
            body = json.loads(raw.body)  # exact integers, as Python's json (and the real server) reads them
        except RecursionError:  # orjson reads 1024 levels, Python's json fewer: far past any depth limit
            raise BadRequest(depth_message("Request body", max_depth, depth_setting)) from None
    if body is None:
        raise BadRequest("Request body is not valid JSON")
    found = scan(body, max_depth, wide_integers=long_digits)
    if found.wide_integer is not None:
        # No store column holds it and it could not be written back (Airflow's database fails on it, a 500).
        raise BadRequest(f"Integer {found.wide_integer} in the request body is wider than 64 bits")
    if found.too_deep is not None:
        raise BadRequest(depth_message("Request body", max_depth, depth_setting))
    return body


# orjson reads an integer literal wider than 64 bits as a float; the real server's json keeps it.
_LONG_DIGITS = re.compile(rb"\d{19,}")


def body_error_message(op: Operation, body: Any) -> str | None:
    assert op.body_schema is not None
    error = first_error(op.body_schema, body)
    return None if error is None else body_message(error)


class Validator:
    """The seam the app calls: request checks with Airflow's texts, response checks that fail loudly."""

    def __init__(self, engine: Engine, spec: Spec, *, optional_body_defaults: bool = False,
                 max_json_depth: int = DEFAULT_MAX_JSON_DEPTH, depth_setting: str = "MOCKFLOW_MAX_JSON_DEPTH") -> None:
        self.engine = engine
        self.max_json_depth, self.depth_setting = max_json_depth, depth_setting
        self._spec = spec
        self.optional_body_defaults = optional_body_defaults
        self._verdicts: Verdicts | None = None
        if engine == "compiled":
            self._verdicts = CompiledVerdicts(spec)
        elif engine == "openapi-core":
            self._verdicts = OpenAPICoreVerdicts(self._spec)

    def check_request(self, op: Operation, raw: RawRequest) -> ValidRequest:
        query = parse_query(op, raw.query)
        body = parse_body(op, raw, self.max_json_depth, self.depth_setting)
        if body is None and self.optional_body_defaults and op.body_schema is not None and not op.body_required:
            body = {}  # an optional body left out means "no options" (Airflow itself refuses it)
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
