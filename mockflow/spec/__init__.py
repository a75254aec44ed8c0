"""OpenAPI documents as values: read, corrected and indexed once per process.

`load_spec(source)` is cached per source, so every app built in a process shares one parsed spec
and one operation index (building a second app costs no parsing). The default source is the
vendored Airflow 2.5.3 spec with its in-memory corrections; other bundles (the control API, a
later Airflow version) bring their own `SpecSource`.

Across processes the corrected, indexed spec is kept as a pickle beside this package's bytecode,
named by a digest of the document and of the code that corrects and indexes it: `mockflow serve`
then starts without parsing YAML (half its start-up), and an edit to any of them misses the cache.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import importlib.util
import json
import pickle
import sys
from collections.abc import Callable
from dataclasses import field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mockflow.cachefiles import write_whole
from mockflow.spec.patches import apply_patches
from mockflow.values import value_class

if TYPE_CHECKING:
    import yaml

SPEC_FILE = "airflow-2.5.3-v1.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

JSON = dict[str, Any]


@value_class(frozen=True, slots=True)
class Parameter:
    name: str
    location: str  # "query" | "path" | "header"
    required: bool
    schema: JSON
    explode: bool
    style: str

    @property
    def is_array(self) -> bool:
        return self.schema.get("type") == "array"


@value_class(frozen=True, slots=True)
class Operation:
    operation_id: str
    method: str  # upper case
    path: str  # the spec's template, without the /api/v1 prefix
    tags: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    body_schema: JSON | None  # JSON request body schema (refs resolved)
    body_required: bool
    responses: dict[str, dict[str, JSON | None]]  # status -> content type -> schema
    declares_parameters: bool = field(default=False)
    # Worked out once: every request to the operation reads them.
    _query: tuple[Parameter, ...] = field(default=(), init=False, repr=False, compare=False)
    _query_by_name: dict[str, Parameter] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        query = tuple(p for p in self.parameters if p.location == "query")
        object.__setattr__(self, "_query", query)
        object.__setattr__(self, "_query_by_name", {p.name: p for p in query})

    def query_parameters(self) -> tuple[Parameter, ...]:
        return self._query

    def query_parameter_names(self) -> dict[str, Parameter]:
        """The query parameters by name (read-only)."""
        return self._query_by_name


# Compared by identity: one Spec per source and process, so it can key caches of compiled validators.
@value_class(frozen=True, slots=True, eq=False)
class Spec:
    raw: JSON  # the patched spec document (refs intact), for openapi-core
    operations: dict[str, Operation]
    schemas: dict[str, JSON]  # component schemas, refs resolved
    prefix: str  # the URL prefix of every path: the first `servers` entry (`/api/v1`)


@value_class(frozen=True, slots=True)
class SpecSource:
    """Where a spec document lives (a package data file) and the corrections it needs in memory."""

    package: str
    filename: str
    patches: Callable[[JSON], None] | None = None

    def read_bytes(self) -> bytes:
        # Beside the package's modules, not through importlib.resources: that costs a start 5 ms to
        # import and first use, and the packages holding specs are plain directories.
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise FileNotFoundError(f"{self.package} is not a package: no {self.filename} beside it")
        return (Path(next(iter(spec.submodule_search_locations))) / self.filename).read_bytes()

    def read_text(self) -> str:
        return self.read_bytes().decode("utf-8")


AIRFLOW_2_5_3 = SpecSource("mockflow.spec", SPEC_FILE, apply_patches)


def read_vendored_text() -> str:
    return AIRFLOW_2_5_3.read_text()


def _yaml_loader() -> type[yaml.SafeLoader]:
    # The C loader parses the 150 KB spec ten times faster; fall back when libyaml is absent.
    # Imported here: a start that finds the parsed spec cached never needs PyYAML (10 ms).
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_yaml(text: str) -> JSON:
    import yaml

    document: JSON = yaml.load(text, Loader=_yaml_loader())
    return document


def load_spec(source: SpecSource = AIRFLOW_2_5_3) -> Spec:
    return _parsed(source)


@functools.cache
def _parsed(source: SpecSource) -> Spec:
    data = source.read_bytes()
    cache = _cache_file(source, data)
    spec = _read_cache(cache) if cache is not None else None
    if spec is None:
        text = data.decode("utf-8")  # only a miss parses it
        document = _load_json(text) if source.filename.endswith(".json") else _load_yaml(text)
        if source.patches is not None:
            source.patches(document)
        spec = index_spec(document)
        if cache is not None:
            _write_cache(cache, spec)
    return spec


def _cache_file(source: SpecSource, data: bytes) -> Path | None:
    """Where the pickle of this source would be, or None when its code cannot be fingerprinted."""
    digest = hashlib.sha256(data)
    for function in (source.patches, index_spec):
        if function is None:
            continue
        module = sys.modules.get(function.__module__)
        filename = getattr(module, "__file__", None)
        if filename is None:
            return None
        digest.update(f"{function.__module__}.{function.__qualname__}".encode())
        digest.update(Path(filename).read_bytes())
    pycache = Path(importlib.util.cache_from_source(__file__)).parent
    return pycache / f"{source.package}.{source.filename}.{digest.hexdigest()[:24]}.pickle"


def _read_cache(path: Path) -> Spec | None:
    try:
        spec = pickle.loads(path.read_bytes())
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
        return None
    return spec if isinstance(spec, Spec) else None


def _write_cache(path: Path, spec: Spec) -> None:
    write_whole(path, pickle.dumps(spec, protocol=pickle.HIGHEST_PROTOCOL))


def index_spec(document: JSON) -> Spec:
    """The operation index and resolved schemas of a (corrected) OpenAPI 3.0 document."""
    resolver = _Resolver(document)
    operations = _index_operations(document, resolver)
    components = document.get("components", {}).get("schemas", {})
    schemas = {name: resolver.resolve(schema) for name, schema in components.items()}
    servers = document.get("servers") or [{"url": ""}]
    return Spec(raw=document, operations=operations, schemas=schemas, prefix=servers[0]["url"].rstrip("/"))


def _load_json(text: str) -> JSON:
    document: JSON = json.loads(text)
    return document


class _Resolver:
    """Inlines local `$ref`s. The spec has no recursive schemas, so plain inlining terminates."""

    def __init__(self, document: JSON) -> None:
        self._document = document
        self._cache: dict[str, Any] = {}

    def lookup(self, ref: str) -> Any:
        node: Any = self._document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        return node

    def resolve(self, node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                ref = node["$ref"]
                if ref not in self._cache:
                    self._cache[ref] = self.resolve(self.lookup(ref))
                # OpenAPI 3.0 ignores siblings of $ref; the patches moved the meaningful ones.
                return copy.deepcopy(self._cache[ref])
            return {key: self.resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [self.resolve(item) for item in node]
        return node


def _index_operations(document: JSON, resolver: _Resolver) -> dict[str, Operation]:
    operations: dict[str, Operation] = {}
    for path, item in document["paths"].items():
        shared = [resolver.resolve(p) for p in item.get("parameters", [])]
        for method in HTTP_METHODS:
            if method not in item:
                continue
            op = item[method]
            own = [resolver.resolve(p) for p in op.get("parameters", [])]
            merged = {(p["name"], p["in"]): p for p in [*shared, *own]}
            params = tuple(_parameter(p) for p in merged.values())
            body = resolver.resolve(op.get("requestBody")) if "requestBody" in op else None
            body_schema = None
            if body is not None:
                body_schema = body.get("content", {}).get("application/json", {}).get("schema")
            responses = {
                status: {
                    ctype: media.get("schema") for ctype, media in resolver.resolve(resp).get("content", {}).items()
                }
                for status, resp in op["responses"].items()
            }
            operations[op["operationId"]] = Operation(
                operation_id=op["operationId"],
                method=method.upper(),
                path=path,
                tags=tuple(op.get("tags", ())),
                parameters=params,
                body_schema=body_schema,
                body_required=bool(body and body.get("required")),
                responses=responses,
                declares_parameters=bool(merged),
            )
    return operations


def _parameter(raw: JSON) -> Parameter:
    style = raw.get("style", "simple" if raw["in"] in ("path", "header") else "form")
    return Parameter(
        name=raw["name"],
        location=raw["in"],
        required=bool(raw.get("required", raw["in"] == "path")),
        schema=raw.get("schema", {}),
        explode=bool(raw.get("explode", style == "form")),
        style=style,
    )
