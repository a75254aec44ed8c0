"""What each fixture file must look like: the spec's response schemas, plus what mockflow needs.

A fixture object is what the API returns, so it is checked against the spec's schema in the
response direction, with two allowances: write-only fields (passwords) may be present, and so
may `x-mockflow` (mock-only settings, whose known keys are typed here so that typos are caught).
The keys a loader cannot do without (a pool's `name`, a run's `dag_run_id`) are required on top.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from typing import Any

import jsonschema_rs
import orjson

from mockflow.fixtureset.files import KeyPath
from mockflow.schemas import to_json_schema
from mockflow.simulation.scripts import SCRIPT_PROPERTIES
from mockflow.spec import load_spec

JSON = dict[str, Any]

# file stem -> (spec schema of one item, keys mockflow requires, the API's collection key)
LIST_KINDS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "plugins": ("PluginCollectionItem", ("name",), "plugins"),
    "providers": ("Provider", ("package_name",), "providers"),
    "permissions": ("Action", ("name",), "actions"),
    "roles": ("Role", ("name",), "roles"),
    "users": ("User", ("username", "email"), "users"),
    "pools": ("Pool", ("name", "slots"), "pools"),
    "variables": ("Variable", ("key", "value"), "variables"),
    "connections": ("Connection", ("connection_id", "conn_type"), "connections"),
    "import_errors": ("ImportError", ("filename",), "import_errors"),
    "dag_warnings": ("DagWarning", ("dag_id", "warning_type", "timestamp"), "dag_warnings"),
    "event_logs": ("EventLog", ("when", "event"), "event_logs"),
    "datasets": ("Dataset", ("uri",), "datasets"),
    "dataset_events": ("DatasetEvent", ("dataset_id", "timestamp"), "dataset_events"),
}
OBJECT_KINDS: dict[str, str] = {"version": "VersionInfo", "config": "Config"}

_STRINGS: JSON = {"type": "array", "items": {"type": "string"}}
# Mock-only keys, per object kind. Unknown keys are refused: they are most likely typos.
TASK_MOCK: JSON = {
    "type": "object",
    "properties": {
        "map_length": {"type": "integer", "minimum": 0},
        "extra_links": _STRINGS,
        "outlets": _STRINGS,
        "operator": {"type": "string"},
        **SCRIPT_PROPERTIES,
    },
    "additionalProperties": False,
}
DAG_MOCK: JSON = {
    "type": "object",
    "properties": {"dataset_triggers": _STRINGS, "stored_tag_order": _STRINGS, **SCRIPT_PROPERTIES},
    "additionalProperties": False,
}
LOG: JSON = {
    "type": "object",
    "required": ["try_number"],
    "properties": {"try_number": {"type": "integer", "minimum": 1}, "content": {"type": "string"}},
    "additionalProperties": False,
}
# Logs are a list of {try_number, content}, or a map from try number to text.
LOGS: JSON = {
    "anyOf": [
        {"type": "array", "items": LOG},
        {"type": "object", "patternProperties": {"^[1-9][0-9]*$": {"type": "string"}}, "additionalProperties": False},
    ]
}


def _without_write_only(node: Any) -> Any:
    """Fixtures may carry write-only fields (passwords): drop the flag that forbids them in answers."""
    if isinstance(node, list):
        return [_without_write_only(item) for item in node]
    if isinstance(node, dict):
        return {key: _without_write_only(value) for key, value in node.items() if key != "writeOnly"}
    return node


def item_schema(name: str, required: tuple[str, ...] = (), properties: JSON | None = None) -> JSON:
    spec_schema = to_json_schema(_without_write_only(copy.deepcopy(load_spec().schemas[name])), "response")
    schema: JSON = {"allOf": [spec_schema], "type": "object"}
    if required:
        schema["required"] = list(required)
    if properties:
        schema["properties"] = properties
    return schema


def dag_file_schema() -> JSON:
    xcom = item_schema("XCom", ("key",))
    task_instance = item_schema("TaskInstance", ("task_id",), {
        "xcom_entries": {"type": "array", "items": xcom},
        "logs": LOGS,
    })
    run = item_schema("DAGRun", ("dag_run_id",), {"task_instances": {"type": "array", "items": task_instance}})
    task = item_schema("Task", ("task_id",), {"x-mockflow": TASK_MOCK})
    return item_schema("DAGDetail", ("dag_id",), {
        "tasks": {"type": "array", "items": task},
        "source": {"type": ["string", "null"]},
        "dag_runs": {"type": "array", "items": run},
        "x-mockflow": DAG_MOCK,
    })


def file_schema(stem: str) -> JSON:
    if stem == "dags":
        return dag_file_schema()
    if stem in OBJECT_KINDS:
        return item_schema(OBJECT_KINDS[stem])
    name, required, _ = LIST_KINDS[stem]
    item = item_schema(name, required)
    if stem == "permissions":
        item = {"anyOf": [{"type": "string"}, item]}  # plain action names are fine too
    if stem == "variables":
        # A JSON value may be given as such; it is stored as its JSON text (fixtureset/loaders.py).
        item = {"allOf": [item_schema("VariableCollectionItem", required)], "type": "object"}
    return {"type": "array", "items": item}


@functools.cache
def _validator(stem: str) -> Any:
    return jsonschema_rs.Draft4Validator(file_schema(stem), validate_formats=True)


def schema_problems(stem: str, data: Any) -> Iterator[tuple[KeyPath, str]]:
    """Every place where a file's content breaks its schema, as (key path, message)."""
    validator = _validator(stem)
    if validator.is_valid(data):  # the fast path: one compiled check per file
        return
    for error in validator.iter_errors(data):
        yield tuple(error.instance_path), _message(error)


def _message(error: Any) -> str:
    """The validator's text, except for enums, whose text names two choices and counts the rest:
    someone fixing a file needs every choice (a DAG run's state has four, a task instance's 13)."""
    if isinstance(error.kind, jsonschema_rs.ValidationErrorKind.Enum):
        choices = ", ".join(_shown(option) for option in error.kind.options)
        return f"{_shown(error.instance)} is not one of {choices}"
    text = str(error.message)
    return text if len(text) <= 300 else text[:297] + "..."


def _shown(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # a YAML value JSON has no word for (a set, ...)
        return repr(value)
