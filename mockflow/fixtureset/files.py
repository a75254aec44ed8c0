"""Fixture files: reading them (strict YAML, JSON) and saying precisely where a problem is.

A problem names the file, the key path inside it (`dag_runs[2].task_instances[0].state`) and, for
YAML, the line, found by parsing the file again only when there is something to report.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from mockflow.limits import FIXTURE_DEPTH_NAME, FIXTURE_MAX_JSON_DEPTH, depth_message, too_deep
from mockflow.values import value_class

if TYPE_CHECKING:
    import yaml

# PyYAML is imported where a YAML file is read, not with this module: a start that restores a
# cached seed reads no fixture file, and importing PyYAML was 10 ms of it.

KeyPath = tuple[str | int, ...]
SUFFIXES = (".json", ".yaml", ".yml")


def _yaml_base() -> type[yaml.SafeLoader]:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


# --- problems ---------------------------------------------------------------------------------

@value_class(frozen=True, slots=True)
class Problem:
    file: str
    where: str  # key path inside the file (and line, for YAML); "" for the whole file
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.where}: {self.message}" if self.where else f"{self.file}: {self.message}"


class FixtureError(ValueError):
    """A fixture set that cannot be loaded: says which file, where, and what was expected."""

    def __init__(self, message: str | Iterable[Problem]) -> None:
        if isinstance(message, str):
            self.problems: list[Problem] = []
            super().__init__(message)
            return
        self.problems = list(message)
        shown = "\n  ".join(str(problem) for problem in self.problems[:20])
        more = f"\n  ... and {len(self.problems) - 20} more" if len(self.problems) > 20 else ""
        count = len(self.problems)
        super().__init__(f"invalid fixture set ({count} problem{'s' * (count != 1)}):\n  {shown}{more}")


def describe(path: KeyPath) -> str:
    """`dag_runs[2].task_instances[0].state`, the way a reader looks for it."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@functools.lru_cache(maxsize=8)
def _yaml_tree(path: str, stamp: tuple[int, int]) -> yaml.Node | None:
    """The node tree of a YAML file; `stamp` (mtime, size) keeps an edited file from being stale."""
    import yaml

    try:
        return yaml.compose(Path(path).read_text(encoding="utf-8"), Loader=_yaml_base())
    except (OSError, yaml.YAMLError):
        return None


def yaml_line(file: Path, path: KeyPath) -> int | None:
    """The line of a key path in a YAML file (parsed again, only when there is a problem to show)."""
    import yaml

    try:
        stat = file.stat()
    except OSError:
        return None
    node = _yaml_tree(str(file), (stat.st_mtime_ns, stat.st_size))
    line = None if node is None else node.start_mark.line + 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            node = next((value for key, value in node.value if key.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            node = None
        if node is None:
            break
        line = node.start_mark.line + 1
    return line


def problem(file: Path, path: KeyPath, message: str) -> Problem:
    where = describe(path)
    if file.suffix != ".json" and path:
        line = yaml_line(file, path)
        where = f"line {line}, {where}" if line else where
    return Problem(str(file), where, message)


# --- reading ------------------------------------------------------------------------------------

@functools.cache
def _strict_loader() -> type[yaml.SafeLoader]:
    import yaml

    class StrictLoader(_yaml_base()):  # type: ignore[misc]
        """YAML that refuses a key given twice in one mapping (plain YAML keeps the last silently)."""

        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise yaml.constructor.ConstructorError("while constructing a mapping", node.start_mark,
                                                            f"found duplicate key {key!r}", key_node.start_mark)
                seen.add(key)
            return super().construct_mapping(node, deep)  # type: ignore[no-any-return]

    return StrictLoader


def read_file(path: Path) -> Any:
    data = _read_json(path) if path.suffix == ".json" else _read_yaml(path)
    _check_depth(path, data)
    return data


def _read_json(path: Path) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except (orjson.JSONDecodeError, UnicodeDecodeError, OSError) as error:
        raise FixtureError([Problem(str(path), "", f"not valid JSON: {error}")]) from None


def _read_yaml(path: Path) -> Any:
    import yaml

    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_strict_loader())
    except (yaml.YAMLError, UnicodeDecodeError, OSError) as error:
        raise FixtureError([Problem(str(path), "", f"not valid YAML: {error}")]) from None
    except RecursionError:  # PyYAML builds nested nodes recursively
        raise FixtureError([Problem(str(path), "", "not valid YAML: nested too deeply to read")]) from None


def _check_depth(path: Path, data: Any) -> None:
    """A value nested too deep would load, and then fail every answer that includes it."""
    where = too_deep(data, FIXTURE_MAX_JSON_DEPTH)
    if where is not None:
        message = depth_message("this value", FIXTURE_MAX_JSON_DEPTH, FIXTURE_DEPTH_NAME)
        raise FixtureError([Problem(str(path), describe(where[:8]) + ("..." if len(where) > 8 else ""), message)])


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
