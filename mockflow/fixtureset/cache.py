"""Frozen seeds of the fixture sets read in this process, by file fingerprint.

Building a second app from unchanged files restores the seed instead of parsing and checking the
files again; an edited file (other mtime or size) is read afresh.
"""

from __future__ import annotations

from pathlib import Path

from mockflow.fixtureset.load import Progress, load_fixture_sets
from mockflow.store import Store

Fingerprint = tuple[tuple[str, int, int], ...]  # (path, mtime in ns, size) of every file
_SEEDS: dict[tuple[tuple[str, ...], Fingerprint], bytes] = {}
_SEEDS_KEPT = 4


def seeded_store(fixtures: tuple[str, ...], progress: Progress | None = None) -> Store:
    """A store seeded from the layered sets (the embedded default when none is given); `progress`
    hears of each DAG file read, when the files are read (not when the seed is cached)."""
    key = (fixtures, fingerprint(fixtures))
    seed = _SEEDS.get(key)
    if seed is not None:
        return Store(seed)
    store = Store(load_fixture_sets(fixtures, progress))  # the loaded state becomes the live one: no copy
    if len(_SEEDS) >= _SEEDS_KEPT:
        _SEEDS.pop(next(iter(_SEEDS)))
    _SEEDS[key] = store.seed
    return store


def fingerprint(fixtures: tuple[str, ...]) -> Fingerprint:
    marks = []
    for directory in fixtures:
        for path in sorted(Path(directory).rglob("*")):
            if path.is_file():
                stat = path.stat()
                marks.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(marks)
