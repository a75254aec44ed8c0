"""Fixture sets: directories of API-shaped JSON or YAML files, loaded into a `State`.

Layout (docs/fixtures.md has the whole story):
    dags/<dag_id>.{json,yaml}     DAG details + `tasks` + `source` + `dag_runs` (with task instances)
    pools, variables, connections, users, roles, permissions, datasets, dataset_events,
    import_errors, dag_warnings, event_logs, plugins, providers   one list each
    config, version                                                one object each

Loading is strict: every object is checked against its spec schema (`schemas.py`) and every
reference against the rest of the set (`refs.py`); any problem stops the load with the file,
the key path (and line, for YAML) and what was expected, and nothing half-loaded escapes: the
state is built fresh and returned only when complete. Several sets may be layered (`layers.py`);
a later set replaces objects with the same key, and a DAG file replaces the whole DAG (runs
included). Each resource's loader is in `loaders.py` (DAG files: `dags.py`).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from mockflow.fixtureset import refs
from mockflow.fixtureset.files import FixtureError, Problem, default_fixture_dir
from mockflow.fixtureset.layers import Item, Layered, gather, read_checked
from mockflow.fixtureset.loaders import LOAD_ORDER, LOADERS
from mockflow.store.builtins import ensure_builtins
from mockflow.store.state import State

__all__ = ["FixtureError", "Problem", "Progress", "check_fixture_sets", "default_fixture_dir", "load_fixture_sets"]

# Called with (DAG files done, DAG files in all) while a set loads: DAG files are nearly all of a large set.
Progress = Callable[[int, int], None]


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
        LOADERS[stem](state, data, str(file))
    except FixtureError as error:
        text = str(error).removeprefix(f"{file}: ")
        layered.problems.extend(error.problems or [Problem(str(file), "", text)])
    except Exception as error:  # a loader tripping over data the checks let through
        layered.problems.append(Problem(str(file), "", f"cannot be loaded: {error!r}"))


def _load_stem(layered: Layered, state: State, stem: str) -> None:
    if stem in layered.objects:
        item = layered.objects[stem]
        if not layered.has_problems(item.file):
            _call_loader(layered, state, stem, item.data, item.file)
        return
    batch: list[Any] = []
    batch_file: Path | None = None
    for item in layered.lists.get(stem, {}).values():
        if batch_file is not None and item.file != batch_file:
            _load_batch(layered, state, stem, batch, batch_file)
            batch = []
        batch.append(item.data)
        batch_file = item.file
    if batch_file is not None:
        _load_batch(layered, state, stem, batch, batch_file)


def _load_batch(layered: Layered, state: State, stem: str, batch: list[Any], file: Path) -> None:
    if not layered.has_problems(file):
        _call_loader(layered, state, stem, batch, file)


def _load_dags(layered: Layered, state: State, known: refs.Known, progress: Progress | None) -> None:
    """DAG files one at a time (read, check, load, forget), so a large set never sits in memory twice."""
    total = len(layered.dag_files)
    for done, (dag_id, path) in enumerate(layered.dag_files.items(), 1):
        if progress is not None:
            progress(done, total)
        data, valid = read_checked(layered, "dags", path)
        if not isinstance(data, dict):
            continue  # unreadable, or not an object: already reported
        known.dags[dag_id] = refs.dag_refs(data)  # what other files may point at, even when this one is broken
        if data.get("dag_id") != dag_id:
            layered.report(path, ("dag_id",), f"{data.get('dag_id')!r} in a file named for DAG {dag_id!r}")
        # The reference checks read wire data defensively, so they run on a schema-broken file too:
        # a wrong state and an unknown task in one file are both reported in the same run.
        for key_path, message in refs.check_dag(data, known):
            layered.report(path, key_path, message)
        if valid and not layered.has_problems(path):
            _call_loader(layered, state, "dags", data, path)


def build(layered: Layered, progress: Progress | None = None) -> State:
    """A fresh state from the layered objects; every check and loader problem lands in `layered`."""
    state = State()
    known = _known_before_dags(layered)
    _check_list(layered, "users", known, refs.BEFORE_DAGS)
    for stem in LOAD_ORDER:
        if stem == "dags":
            _load_dags(layered, state, known, progress)
        else:
            _load_stem(layered, state, stem)
    for stem in refs.AFTER_DAGS:
        _check_list(layered, stem, known, refs.AFTER_DAGS)
    ensure_builtins(state)
    return state


def check_fixture_sets(directories: Iterable[str | Path] = (),
                       progress: Progress | None = None) -> tuple[State | None, list[Problem]]:
    """Every problem of the layered sets (not only the first), and the state when there is none."""
    dirs = [Path(d) for d in directories] or [default_fixture_dir()]
    # Loading makes millions of objects and no garbage cycles; the cyclic collector would walk
    # the growing state again and again (a third of the load time of a large set).
    collecting = gc.isenabled()
    gc.disable()
    try:
        layered = gather(dirs)
        state = build(layered, progress)
    finally:
        if collecting:
            gc.enable()
    return (None, layered.problems) if layered.problems else (state, [])


def load_fixture_sets(directories: Iterable[str | Path] = (), progress: Progress | None = None) -> State:
    """A fresh state seeded from the given sets (the embedded default when none is given)."""
    state, problems = check_fixture_sets(directories, progress)
    if state is None:
        raise FixtureError(problems)
    return state
