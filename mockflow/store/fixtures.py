"""Fixture sets: directories of API-shaped JSON or YAML files, loaded into a `State`.

Layout (docs/fixtures.md has the whole story):
    dags/<dag_id>.{json,yaml}     DAG details + `tasks` + `source` + `dag_runs` (with task instances)
    pools, variables, connections, users, roles, permissions, datasets, dataset_events,
    import_errors, dag_warnings, event_logs, plugins, providers   one list each
    config, version                                                one object each

Loading is strict: every object is checked against its spec schema (`fixture_schemas`) and every
reference against the rest of the set (`fixture_refs`); any problem stops the load with the file,
the key path (and line, for YAML) and what was expected, and nothing half-loaded escapes: the
state is built fresh and returned only when complete. Several sets may be layered; a later set
replaces objects with the same key, and a DAG file replaces the whole DAG (runs included).

Each resource's reading lives with its rules in `store/<domain>.py`; this module finds, parses,
checks and layers files, and hands each loader the objects that won.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mockflow.store import fixture_refs as refs
from mockflow.store.fixture_files import SUFFIXES, FixtureError, KeyPath, Problem, problem, read_file
from mockflow.store.fixture_schemas import LIST_KINDS, OBJECT_KINDS, schema_problems
from mockflow.store.state import State

__all__ = ["FixtureError", "Problem", "check_fixture_sets", "default_fixture_dir", "load_fixture_sets"]

# resource file stem -> (module in mockflow.store, loader function). Loaders take
# (state, data, source) and replace objects with the same key.
LOADERS: dict[str, tuple[str, str]] = {
    "version": ("meta", "load_version"),
    "config": ("meta", "load_config"),
    "plugins": ("meta", "load_plugins"),
    "providers": ("meta", "load_providers"),
    "permissions": ("security", "load_actions"),
    "roles": ("security", "load_roles"),
    "users": ("security", "load_users"),
    "pools": ("pools", "load_pools"),
    "variables": ("variables", "load_variables"),
    "connections": ("connections", "load_connections"),
    "import_errors": ("meta", "load_import_errors"),
    "dag_warnings": ("meta", "load_dag_warnings"),
    "event_logs": ("meta", "load_event_logs"),
    "datasets": ("datasets", "load_datasets"),
    "dags": ("dag_files", "load_dag"),  # one file per DAG, in dags/
    "dataset_events": ("datasets", "load_dataset_events"),
}
# Stems read in this order, so that references point at objects already loaded.
LOAD_ORDER = tuple(LOADERS)


def _key_of(stem: str) -> Callable[[Any], Any]:
    """The identity of one list item: a later layer's item with the same key replaces it."""
    simple = {"plugins": "name", "providers": "package_name", "roles": "name", "pools": "name", "variables": "key",
              "connections": "connection_id", "import_errors": "import_error_id", "event_logs": "event_log_id",
              "datasets": "uri", "dataset_events": "id"}
    if stem in simple:
        return lambda item: item.get(simple[stem])
    if stem == "users":
        return lambda item: str(item.get("username", "")).lower() or None
    if stem == "permissions":
        return lambda item: item.get("name") if isinstance(item, dict) else item
    return lambda item: (item.get("dag_id"), item.get("warning_type"))  # dag_warnings


def default_fixture_dir() -> Path:
    """The embedded default set: `mockflow/default_fixtures` when installed, `fixtures/default` in a checkout."""
    # A data package without __init__.py is a namespace package: its directory comes from the
    # spec (importlib.resources would hand back a MultiplexedPath, which is no plain path).
    try:
        spec = importlib.util.find_spec("mockflow.default_fixtures")
    except ModuleNotFoundError:
        spec = None
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        if Path(location).is_dir():
            return Path(location)
    return Path(__file__).resolve().parents[2] / "fixtures" / "default"


def _loader(stem: str) -> Callable[[State, Any, str], None]:
    module_name, function = LOADERS[stem]
    module = importlib.import_module(f"mockflow.store.{module_name}")
    return getattr(module, function)  # type: ignore[no-any-return]


def files_of(directory: Path) -> dict[str, list[Path]]:
    if not directory.is_dir():
        raise FixtureError(f"{directory}: fixture set not found (expected a directory)")
    found: dict[str, list[Path]] = {}
    for path in sorted(directory.iterdir()):
        if path.is_file() and path.suffix in SUFFIXES and path.stem in LOADERS and path.stem != "dags":
            found.setdefault(path.stem, []).append(path)
    dags_dir = directory / "dags"
    if dags_dir.is_dir():
        found["dags"] = [p for p in sorted(dags_dir.iterdir()) if p.is_file() and p.suffix in SUFFIXES]
    return found


# --- layering -----------------------------------------------------------------------------------

@dataclass(slots=True)
class Item:
    data: Any
    file: Path
    path: KeyPath


@dataclass
class Layered:
    """The objects that won across the layered sets, each remembering where it came from."""

    objects: dict[str, Item] = field(default_factory=dict)  # version, config
    lists: dict[str, dict[Any, Item]] = field(default_factory=dict)  # stem -> key -> item
    dag_files: dict[str, Path] = field(default_factory=dict)  # dag_id (= file stem) -> file
    problems: list[Problem] = field(default_factory=list)

    def report(self, file: Path, path: KeyPath, message: str) -> None:
        self.problems.append(problem(file, path, message))


def _unwrap(stem: str, data: Any) -> Any:
    """A collection answer saved as it came (`{"pools": [...], "total_entries": n}`) loads too."""
    if stem in LIST_KINDS and isinstance(data, dict):
        collection = LIST_KINDS[stem][2]
        if collection in data and set(data) <= {collection, "total_entries"}:
            return data[collection]
    return data


def _read_checked(layered: Layered, stem: str, path: Path) -> tuple[Any, bool]:
    """The file's content, and whether it matches its schema (problems reported when not)."""
    try:
        data = _unwrap(stem, read_file(path))
    except FixtureError as error:
        layered.problems.extend(error.problems)
        return None, False
    found = list(schema_problems(stem, data))
    for key_path, message in found:
        layered.report(path, key_path, message)
    return data, not found


def _merge_list(layered: Layered, stem: str, path: Path, data: list[Any]) -> None:
    table = layered.lists.setdefault(stem, {})
    key_of = _key_of(stem)
    in_this_file: set[Any] = set()
    for index, item in enumerate(data):
        key = key_of(item)
        if key is None:  # no identity (an import error without id): always a new row
            key = (path, index)
        elif key in in_this_file:
            layered.report(path, (index,), f"duplicate key {key!r} in this file")
            continue
        in_this_file.add(key)
        table[key] = Item(item, path, (index,))


def gather(directories: Iterable[Path]) -> Layered:
    """Reads and schema-checks every file except DAG files, which are only located (they are large)."""
    layered = Layered()
    for directory in directories:
        try:
            found = files_of(directory)
        except FixtureError as error:
            layered.problems.append(Problem(str(directory), "", str(error).split(": ", 1)[-1]))
            continue
        for path in sorted(directory.iterdir()):
            if path.is_file() and path.suffix in SUFFIXES and path.stem not in LOADERS:
                # most likely a typo (`pool.yaml`): silently skipping it would hide the data
                layered.problems.append(Problem(str(path), "", "not a fixture file: expected one of "
                                                + ", ".join(sorted(set(LOADERS) - {"dags"}))))
        for stem in LOAD_ORDER:
            paths = found.get(stem, [])
            if stem == "dags":
                _locate_dag_files(layered, paths)
                continue
            if len(paths) > 1:
                layered.problems.append(Problem(str(paths[1]), "", f"a second {stem} file in {directory}"))
            for path in paths[:1]:
                data, valid = _read_checked(layered, stem, path)
                if not valid:
                    continue
                if stem in OBJECT_KINDS:
                    layered.objects[stem] = Item(data, path, ())
                else:
                    _merge_list(layered, stem, path, data)
    return layered


def _locate_dag_files(layered: Layered, paths: list[Path]) -> None:
    stems: dict[str, Path] = {}
    for path in paths:
        if path.stem in stems:
            layered.problems.append(Problem(str(path), "", f"a second file for DAG {path.stem!r} ({stems[path.stem]})"))
            continue
        stems[path.stem] = path
        layered.dag_files[path.stem] = path  # a later layer's file wins, in the first one's place


# --- loading ------------------------------------------------------------------------------------

def _check_list(layered: Layered, stem: str, known: refs.Known, checks: dict[str, Any]) -> None:
    check = checks.get(stem)
    if check is None:
        return
    for item in layered.lists.get(stem, {}).values():
        for key_path, message in check(item.data, known):
            layered.report(item.file, item.path + key_path, message)


def _known_before_dags(layered: Layered) -> refs.Known:
    known = refs.Known()
    lists = layered.lists
    known.pools.update(str(key) for key in lists.get("pools", {}))
    known.roles.update(str(key) for key in lists.get("roles", {}))
    if "permissions" in lists:
        known.actions = {str(key) for key in lists["permissions"]}
    for item in lists.get("dag_warnings", {}).values():
        if item.data.get("warning_type") == "non-existent pool":
            known.pool_warned.add(str(item.data.get("dag_id")))
    emails: dict[str, Item] = {}
    for item in lists.get("users", {}).values():
        email = str(item.data.get("email", "")).lower()
        if email in emails:
            layered.report(item.file, (*item.path, "email"), f"email {email!r} is taken by another user")
        emails[email] = item
    for item in lists.get("datasets", {}).values():
        dataset_id = item.data.get("id")
        if dataset_id is None:
            continue
        if dataset_id in known.datasets:
            layered.report(item.file, (*item.path, "id"), f"duplicate dataset id {dataset_id}")
        known.datasets[dataset_id] = item.data["uri"]
    return known


def _call_loader(layered: Layered, state: State, stem: str, data: Any, file: Path) -> None:
    """Runs one loader; its refusals (or crashes) become problems of that file."""
    try:
        _loader(stem)(state, data, str(file))
    except FixtureError as error:
        text = str(error).removeprefix(f"{file}: ")
        layered.problems.extend(error.problems or [Problem(str(file), "", text)])
    except Exception as error:  # a loader tripping over data the checks let through
        layered.problems.append(Problem(str(file), "", f"cannot be loaded: {error!r}"))


def _load_stem(layered: Layered, state: State, stem: str) -> None:
    if stem in layered.objects:
        item = layered.objects[stem]
        _call_loader(layered, state, stem, item.data, item.file)
        return
    batch: list[Any] = []
    batch_file: Path | None = None
    for item in layered.lists.get(stem, {}).values():
        if batch_file is not None and item.file != batch_file:
            _call_loader(layered, state, stem, batch, batch_file)
            batch = []
        batch.append(item.data)
        batch_file = item.file
    if batch_file is not None:
        _call_loader(layered, state, stem, batch, batch_file)


def _load_dags(layered: Layered, state: State, known: refs.Known) -> None:
    """DAG files one at a time (read, check, load, forget), so a large set never sits in memory twice."""
    for dag_id, path in layered.dag_files.items():
        data, valid = _read_checked(layered, "dags", path)
        if isinstance(data, dict):  # what other files may point at, even when this one is broken
            known.dags[dag_id] = refs.dag_refs(data)
        if not valid:
            continue
        if data.get("dag_id") != dag_id:
            layered.report(path, ("dag_id",), f"{data.get('dag_id')!r} in a file named for DAG {dag_id!r}")
        found = list(refs.check_dag(data, known))
        for key_path, message in found:
            layered.report(path, key_path, message)
        if not layered.problems:
            _call_loader(layered, state, "dags", data, path)


def build(layered: Layered) -> State:
    """A fresh state from the layered objects; every check and loader problem lands in `layered`."""
    state = State()
    known = _known_before_dags(layered)
    _check_list(layered, "users", known, refs.BEFORE_DAGS)
    for stem in LOAD_ORDER:
        if stem == "dags":
            _load_dags(layered, state, known)
        elif not layered.problems:
            _load_stem(layered, state, stem)
    for stem in refs.AFTER_DAGS:
        _check_list(layered, stem, known, refs.AFTER_DAGS)
    from mockflow.store.seed import ensure_builtins

    ensure_builtins(state)
    return state


def check_fixture_sets(directories: Iterable[str | Path] = ()) -> tuple[State | None, list[Problem]]:
    """Every problem of the layered sets (not only the first), and the state when there is none."""
    dirs = [Path(d) for d in directories] or [default_fixture_dir()]
    # Loading makes millions of objects and no garbage cycles; the cyclic collector would walk
    # the growing state again and again (a third of the load time of a large set).
    collecting = gc.isenabled()
    gc.disable()
    try:
        layered = gather(dirs)
        state = build(layered)
    finally:
        if collecting:
            gc.enable()
    return (None, layered.problems) if layered.problems else (state, [])


def load_fixture_sets(directories: Iterable[str | Path] = ()) -> State:
    """A fresh state seeded from the given sets (the embedded default when none is given)."""
    state, problems = check_fixture_sets(directories)
    if state is None:
        raise FixtureError(problems)
    return state
