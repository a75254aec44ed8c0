"""The store in and out of the fixture format, for `GET/PUT/PATCH /_mockflow/state` and reset.

Imports go through the very code that loads fixture directories (written to a temporary
directory first), so an imported object is checked exactly as a fixture file is, and a bad one
is refused whole with the file and key path that failed.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

import orjson

from mockflow.fixtureset.export import export_state
from mockflow.fixtureset.files import SUFFIXES, FixtureError
from mockflow.fixtureset.load import load_fixture_sets
from mockflow.limits import FIXTURE_DEPTH_NAME, FIXTURE_MAX_JSON_DEPTH, depth_message, too_deep
from mockflow.problems import BadRequest
from mockflow.store import State

JSON = dict[str, Any]
_ERROR_TITLE = "Invalid fixture set"


def counts(state: State) -> dict[str, int]:
    return {"dags": len(state.dags), "dag_runs": len(state.dag_runs), "task_instances": len(state.task_instances),
            "pools": len(state.pools), "variables": len(state.variables), "connections": len(state.connections),
            "users": len(state.users), "roles": len(state.roles), "xcom_entries": len(state.xcoms),
            "datasets": len(state.datasets), "event_logs": len(state.event_logs)}


def export_files(state: State) -> JSON:
    """Every file of the fixture layout, by relative POSIX path, parsed."""
    with tempfile.TemporaryDirectory(prefix="mockflow-state-") as tmp:
        export_state(state, tmp, fmt="json")
        root = Path(tmp)
        return {path.relative_to(root).as_posix(): orjson.loads(path.read_bytes())
                for path in sorted(root.rglob("*.json"))}


def export_tar(state: State) -> bytes:
    import tarfile  # here: only this export needs it, and every `mockflow serve` start would pay 2 ms

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, content in export_files(state).items():
            data = orjson.dumps(content, option=orjson.OPT_INDENT_2)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def load_files(layers: Sequence[tuple[str, Mapping[str, Any]]]) -> State:
    """A state built from fixture files given as data, layered in order; each layer is named
    (the name prefixes the file names in error messages)."""
    with tempfile.TemporaryDirectory(prefix="mockflow-import-") as tmp:
        directories = []
        for name, files in layers:
            directory = Path(tmp) / name
            directory.mkdir()
            for name, content in files.items():
                _check_depth(name, content)
                target = directory / _safe_relative(name)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(orjson.dumps(content))
            directories.append(directory)
        return _loaded(directories, Path(tmp))


def load_sets(paths: Iterable[str]) -> State:
    """Fixture-set directories on the server, layered in order (a reset to another set)."""
    chosen = [Path(path) for path in paths]
    missing = [str(path) for path in chosen if not path.is_dir()]
    if missing:
        raise BadRequest(f"No fixture set directory at {', '.join(missing)}", title=_ERROR_TITLE)
    return _loaded(chosen, None)


def _loaded(directories: list[Path], shown_relative_to: Path | None) -> State:
    try:
        return load_fixture_sets(directories)
    except FixtureError as error:
        text = str(error)
        if shown_relative_to is not None:
            text = text.replace(str(shown_relative_to) + "/", "")
        raise BadRequest(text, title=_ERROR_TITLE) from None


def _check_depth(name: str, content: Any) -> None:
    # Before writing: orjson cannot even write a file nested past 254 levels.
    if too_deep(content, FIXTURE_MAX_JSON_DEPTH) is not None:
        raise BadRequest(f"{name}: " + depth_message("the file", FIXTURE_MAX_JSON_DEPTH, FIXTURE_DEPTH_NAME),
                         title=_ERROR_TITLE)


def _safe_relative(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts or "\\" in name:
        raise BadRequest(f"Invalid file name {name!r}: use a relative path inside the set", title=_ERROR_TITLE)
    if path.suffix not in SUFFIXES:
        raise BadRequest(f"Invalid file name {name!r}: fixture files end in {', '.join(SUFFIXES)}",
                         title=_ERROR_TITLE)
    if path.suffix != ".json":
        path = path.with_suffix(".json")  # the content arrives as JSON whatever the name says
    return path
