"""Fixture sets: directories of API-shaped JSON or YAML files, loaded into a `State`.

Layout (docs/fixtures.md has the whole story):
    dags/<dag_id>.{json,yaml}     DAG details + `tasks` + `source` + `dag_runs` (with task instances)
    pools, variables, connections, users, roles, permissions, datasets, dataset_events,
    import_errors, dag_warnings, event_logs, plugins, providers   one list each
    config, version                                                one object each

Several sets may be layered; a later set replaces objects with the same key. Each resource's
reading lives with its rules in `store/<domain>.py`; this module only finds and parses files.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path
from typing import Any

import orjson
import yaml

from mockflow.store.state import State

SUFFIXES = (".json", ".yaml", ".yml")

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
    "dags": ("dags", "load_dag"),  # one file per DAG, in dags/
    "dataset_events": ("datasets", "load_dataset_events"),
}
# Stems read in this order, so that references point at objects already loaded.
LOAD_ORDER = tuple(LOADERS)


class FixtureError(ValueError):
    """A fixture set that cannot be loaded: says which file, where, and what was expected."""


def default_fixture_dir() -> Path:
    """The embedded default set: `mockflow/default_fixtures` when installed, `fixtures/default` in a checkout."""
    try:
        packaged = Path(str(resources.files("mockflow.default_fixtures")))
        if packaged.is_dir():
            return packaged
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parents[2] / "fixtures" / "default"


def read_file(path: Path) -> Any:
    try:
        if path.suffix == ".json":
            return orjson.loads(path.read_bytes())
        return yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except (orjson.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as error:
        raise FixtureError(f"{path}: not valid {path.suffix[1:].upper()}: {error}") from None


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


def load_into(state: State, directory: Path) -> None:
    found = files_of(directory)
    for stem in LOAD_ORDER:
        for path in found.get(stem, []):
            _loader(stem)(state, read_file(path), str(path))


def load_fixture_sets(directories: Iterable[str | Path] = ()) -> State:
    """A fresh state seeded from the given sets (the embedded default when none is given)."""
    dirs = [Path(d) for d in directories] or [default_fixture_dir()]
    state = State()
    for directory in dirs:
        load_into(state, directory)
    from mockflow.store.seed import ensure_builtins

    ensure_builtins(state)
    return state
