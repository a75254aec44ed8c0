"""Finding, reading and layering the files of fixture sets (before anything is loaded).

Every file but the DAG files is read and schema-checked here; a later set's object replaces an
earlier one with the same key, and a later DAG file replaces the whole DAG. DAG files are only
located: they are large, and `load.py` reads them one at a time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import field
from pathlib import Path
from typing import Any

from mockflow.fixtureset.files import SUFFIXES, FixtureError, KeyPath, Problem, problem, read_file
from mockflow.fixtureset.loaders import LOAD_ORDER, LOADERS
from mockflow.fixtureset.schemas import LIST_KINDS, OBJECT_KINDS, schema_problems
from mockflow.values import value_class


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

@value_class(slots=True)
class Item:
    data: Any
    file: Path
    path: KeyPath


@value_class
class Layered:
    """The objects that won across the layered sets, each remembering where it came from."""

    objects: dict[str, Item] = field(default_factory=dict)  # version, config
    lists: dict[str, dict[Any, Item]] = field(default_factory=dict)  # stem -> key -> item
    dag_files: dict[str, Path] = field(default_factory=dict)  # dag_id (= file stem) -> file
    problems: list[Problem] = field(default_factory=list)

    def report(self, file: Path, path: KeyPath, message: str) -> None:
        self.problems.append(problem(file, path, message))

    def has_problems(self, file: Path) -> bool:
        """Whether a problem names this file: its loader is then skipped (the set is refused anyway),
        while the other files still load, so a loader's own refusals show in the same run."""
        name = str(file)
        return any(found.file == name for found in self.problems)


def _unwrap(stem: str, data: Any) -> Any:
    """A collection answer saved as it came (`{"pools": [...], "total_entries": n}`) loads too."""
    if stem in LIST_KINDS and isinstance(data, dict):
        collection = LIST_KINDS[stem][2]
        if collection in data and set(data) <= {collection, "total_entries"}:
            return data[collection]
    return data


def read_checked(layered: Layered, stem: str, path: Path) -> tuple[Any, bool]:
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
        if not isinstance(item, dict) and stem != "permissions":
            continue  # the schema check has said so; it has no key to be known by
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
                data, valid = read_checked(layered, stem, path)
                if stem in OBJECT_KINDS:
                    if valid:
                        layered.objects[stem] = Item(data, path, ())
                elif isinstance(data, list):
                    # Even a file with a broken item is merged: its names stay known, so what points
                    # at them is not reported as unknown too (one problem, one message).
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
