"""OpenAPI 3.0 schemas turned into what the validators need.

* `to_json_schema` gives plain JSON Schema (draft 4) for jsonschema-rs, the compiled fast path:
  `nullable` becomes a `null` alternative, `readOnly`/`writeOnly` become "must be absent" in the
  direction where OpenAPI forbids them, vendor keys and discriminators are dropped.
* `first_error` reproduces the messages of the real server's validator (connexion on top of
  Python jsonschema, draft 4): it runs only once a request is known to be invalid, so Python
  jsonschema (a fifth of `mockflow serve`'s imports) is imported then, not at start-up.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

JSON = dict[str, Any]
Direction = Literal["request", "response"]

# Only `date-time` is a format the real server checks; `datetime`, `path`, `password` are labels.
CHECKED_FORMATS = frozenset({"date-time"})
_DROPPED = frozenset({"discriminator", "example", "description", "deprecated", "externalDocs", "xml", "title"})


def to_json_schema(schema: JSON, direction: Direction) -> JSON:
    """Convert a resolved OpenAPI 3.0 schema into draft-4 JSON Schema for one direction."""
    converted: JSON = _convert(schema, direction)
    return converted


def _convert(node: Any, direction: Direction) -> Any:
    if isinstance(node, list):
        return [_convert(item, direction) for item in node]
    if not isinstance(node, dict):
        return node
    out: JSON = {}
    for key, value in node.items():
        if key in _DROPPED or key.startswith("x-") or key in ("nullable", "readOnly", "writeOnly"):
            continue
        if key == "format" and value not in CHECKED_FORMATS:
            continue
        if key == "properties":
            out[key] = {name: _property(sub, direction) for name, sub in value.items()}
        elif key == "required":
            out[key] = [name for name in value if not _forbidden(node.get("properties", {}).get(name), direction)]
            if not out[key]:
                del out[key]
        elif key in ("items", "additionalProperties", "not") or key in ("allOf", "anyOf", "oneOf"):
            out[key] = _convert(value, direction)
        else:
            out[key] = value
    if node.get("nullable") is True:
        out = _admit_null(out)
    return out


def _property(schema: Any, direction: Direction) -> Any:
    if _forbidden(schema, direction):
        return {"not": {}}  # present at all -> invalid
    return _convert(schema, direction)


def _forbidden(schema: Any, direction: Direction) -> bool:
    if not isinstance(schema, dict):
        return False
    flag = "readOnly" if direction == "request" else "writeOnly"
    return schema.get(flag) is True


def _admit_null(schema: JSON) -> JSON:
    if "enum" in schema and None not in schema["enum"]:
        schema = {**schema, "enum": [*schema["enum"], None]}
    kind = schema.get("type")
    if isinstance(kind, str):
        return {**schema, "type": [kind, "null"]}
    if kind is None:
        return {"anyOf": [{"type": "null"}, schema]}
    return schema


# --- connexion-compatible messages -------------------------------------------------------------

def _type_allowing_null(validator: Any, types: Any, instance: Any, schema: JSON) -> Iterator[ValidationError]:
    if instance is None and schema.get("nullable") is True:
        return
    yield from _jsonschema().draft4.VALIDATORS["type"](validator, types, instance, schema)


def _enum_allowing_null(validator: Any, enums: Any, instance: Any, schema: JSON) -> Iterator[ValidationError]:
    if instance is None and schema.get("nullable") is True:
        return
    yield from _jsonschema().draft4.VALIDATORS["enum"](validator, enums, instance, schema)


def _read_only(validator: Any, read_only: Any, instance: Any, schema: JSON) -> Iterator[ValidationError]:
    if read_only is True:
        yield _jsonschema().error("Property is read-only")


def _write_only(validator: Any, write_only: Any, instance: Any, schema: JSON) -> Iterator[ValidationError]:
    if write_only is True:
        yield _jsonschema().error("Property is write-only")


def _required_for(flag: str) -> Any:
    def required(validator: Any, names: Any, instance: Any, schema: JSON) -> Iterator[ValidationError]:
        if not validator.is_type(instance, "object"):
            return
        properties = schema.get("properties", {})
        for name in names:
            if name in instance:
                continue
            if isinstance(properties.get(name), dict) and properties[name].get(flag) is True:
                continue  # OpenAPI: a read-only property is not required in a request (and vice versa)
            yield _jsonschema().error(f"{name!r} is a required property")

    return required


def _min_items(validator: Any, minimum: Any, instance: Any, schema: JSON) -> Iterator[ValidationError]:
    # jsonschema 3 (the real server's) says "is too short"; newer releases say "should be non-empty"
    if validator.is_type(instance, "array") and len(instance) < minimum:
        yield _jsonschema().error(f"{instance!r} is too short")


def _min_length(validator: Any, minimum: Any, instance: Any, schema: JSON) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and len(instance) < minimum:
        yield _jsonschema().error(f"{instance!r} is too short")


class _Jsonschema:
    """Python jsonschema and the two message validators made from it, built on first use."""

    def __init__(self) -> None:
        import jsonschema  # deferred: only an invalid request needs it (see the module docstring)

        self.draft4 = jsonschema.Draft4Validator
        self.error = jsonschema.ValidationError
        common = {"type": _type_allowing_null, "enum": _enum_allowing_null, "minItems": _min_items,
                  "minLength": _min_length}
        self.request_validator = jsonschema.validators.extend(
            jsonschema.Draft4Validator, {**common, "readOnly": _read_only, "required": _required_for("readOnly")})
        self.response_validator = jsonschema.validators.extend(
            jsonschema.Draft4Validator, {**common, "writeOnly": _write_only, "required": _required_for("writeOnly")})
        self.format_checker = jsonschema.FormatChecker(["date-time"])


@functools.cache
def _jsonschema() -> _Jsonschema:
    return _Jsonschema()


def first_error(schema: JSON, instance: Any, direction: Direction = "request") -> ValidationError | None:
    """The error the real server would report: the first one its validator meets."""
    engine = _jsonschema()
    cls = engine.request_validator if direction == "request" else engine.response_validator
    found: ValidationError | None = next(iter(cls(schema, format_checker=engine.format_checker).iter_errors(instance)),
                                         None)
    return found


def body_message(error: ValidationError) -> str:
    """connexion's body message: the jsonschema message, then the dotted path when there is one."""
    if error.path:
        return f"{error.message} - '{'.'.join(str(part) for part in error.path)}'"
    return str(error.message)
