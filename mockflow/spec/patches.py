"""Corrections applied to the spec in memory when it is loaded (the vendored file stays untouched).

The 2.5.3 spec marks some values `nullable` in ways OpenAPI 3.0 ignores, while the real server
sends `null` there. Each correction states the author's evident intent in a form that both
openapi-core and mockflow's compiled validators read the same way. `docs/differences.md` lists them.
"""

from __future__ import annotations

import copy
from typing import Any

JSON = dict[str, Any]

# A branch that admits exactly `null`, understood by OpenAPI 3.0 validators.
NULL_BRANCH: JSON = {"type": "object", "nullable": True, "enum": [None]}

# Properties the real server sends as null although the spec does not allow it
# (measured on recorded answers of a real 2.5.3): (schema, property).
NULLABLE_PROPERTIES: tuple[tuple[str, str], ...] = (
    ("Error", "title"),  # unknown query parameter: `"title": null`
    ("Error", "detail"),  # most 401/403 and many 404 answers
)


def apply_patches(document: JSON) -> None:
    """Rewrite the known defects of the 2.5.3 spec in place."""
    components = document["components"]["schemas"]
    for schema_name, prop in NULLABLE_PROPERTIES:
        props = components.get(schema_name, {}).get("properties", {})
        if prop in props:
            props[prop] = {**props[prop], "nullable": True}
    _walk(document, document)


def _walk(node: Any, document: JSON) -> None:
    if isinstance(node, dict):
        for key, value in list(node.items()):
            if isinstance(value, dict):
                node[key] = _fix(value, document)
            _walk(node[key], document)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            if isinstance(value, dict):
                node[index] = _fix(value, document)
            _walk(node[index], document)


def _fix(schema: JSON, document: JSON) -> JSON:
    if "$ref" in schema and schema.get("nullable") is True:
        return _nullable_copy_of_ref(schema, document)
    if schema.get("nullable") is True and "type" not in schema:
        for keyword in ("anyOf", "oneOf"):
            if keyword in schema and NULL_BRANCH not in schema[keyword]:
                # A discriminator cannot name the null branch (openapi-core then refuses null),
                # and the branches tell themselves apart by their required `__type` anyway.
                fixed = {k: v for k, v in schema.items() if k != "discriminator"}
                return {**fixed, keyword: [*schema[keyword], copy.deepcopy(NULL_BRANCH)]}
    if "$ref" in schema and "type" in schema and len(schema) == 2:
        # `type` beside a `$ref` adds nothing (the target declares it); drop the sibling.
        return {"$ref": schema["$ref"]}
    return schema


def _nullable_copy_of_ref(schema: JSON, document: JSON) -> JSON:
    """`{$ref: X, nullable: true}` becomes a copy of X that also admits null."""
    target: Any = document
    for part in schema["$ref"].removeprefix("#/").split("/"):
        target = target[part]
    merged: JSON = copy.deepcopy(target)
    for key, value in schema.items():
        if key != "$ref":
            merged[key] = value
    if "enum" in merged and None not in merged["enum"]:
        merged["enum"] = [*merged["enum"], None]
    if "type" not in merged and "allOf" not in merged:
        merged = {"anyOf": [{"$ref": schema["$ref"]}, copy.deepcopy(NULL_BRANCH)]}
    return merged
