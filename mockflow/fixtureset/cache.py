"""Frozen seeds of fixture sets, by file fingerprint: in this process, and on disk beside the bytecode.

Building a second app from unchanged files restores the seed instead of parsing and checking the
files again; an edited file (other mtime or size) is read afresh.

Across processes the frozen seed is kept as a file beside this package's bytecode (as the parsed
spec is), named by a digest of the files' fingerprint and of mockflow's own source: `mockflow
serve` then starts without reading YAML, and a large generated set loads in the time a thaw
takes instead of a full parse and check. Any edit to a fixture file or to mockflow's code misses
the cache; like bytecode it is not written when Python writes none (`PYTHONDONTWRITEBYTECODE`),
and an unreadable or broken file is ignored and replaced.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import mmap
import os
import pickle
import sys
from collections.abc import Iterator
from pathlib import Path

from mockflow.cachefiles import write_whole
from mockflow.fixtureset.files import default_fixture_dir
from mockflow.fixtureset.load import Progress, load_fixture_sets
from mockflow.store import Seed, State, Store

Fingerprint = tuple[tuple[str, int, int], ...]  # (path, mtime in ns, size) of every file
_SEEDS: dict[tuple[tuple[str, ...], Fingerprint], Seed] = {}
_SEEDS_KEPT = 4
_FILES_KEPT = 4  # seed files on disk; the least recently used go first
_BYTES_KEPT = 1 << 30  # and no more than this in all, the newest file aside (a 1M-TI seed is ~300 MB)
_SUFFIX = ".seed"
_PACKAGE = Path(__file__).resolve().parents[1]  # mockflow/
# What a broken or foreign seed file raises when thawed; it is then read afresh from the fixtures.
_UNREADABLE = (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError, ValueError,
               IndexError, KeyError)


def seeded_store(fixtures: tuple[str, ...], progress: Progress | None = None) -> Store:
    """A store seeded from the layered sets (the embedded default when none is given); `progress`
    hears of each DAG file read, when the files are read (not when the seed is cached)."""
    key = (fixtures, fingerprint(fixtures))
    seed = _SEEDS.get(key)
    if seed is not None:
        return Store(seed)
    path = seed_file(key)
    store = _store_from_disk(path)
    if store is None:
        store = Store(load_fixture_sets(fixtures, progress))  # the loaded state becomes the live one: no copy
        _write_seed(path, store.seed)
    _remember(key, store.seed)
    return store


def fingerprint(fixtures: tuple[str, ...]) -> Fingerprint:
    marks = []
    for directory in fixtures or (str(default_fixture_dir()),):
        for path in sorted(Path(directory).rglob("*")):
            if path.is_file():
                stat = path.stat()
                marks.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(marks)


def _remember(key: tuple[tuple[str, ...], Fingerprint], seed: Seed) -> None:
    if len(_SEEDS) >= _SEEDS_KEPT:
        _SEEDS.pop(next(iter(_SEEDS)))
    _SEEDS[key] = seed


# --- on disk -----------------------------------------------------------------------------------------

def seed_dir() -> Path:
    """Where seed files live: the bytecode folder of this package."""
    return Path(importlib.util.cache_from_source(__file__)).parent / "seeds"


def seed_file(key: tuple[tuple[str, ...], Fingerprint]) -> Path:
    fixtures, marks = key
    digest = hashlib.sha256(repr(([str(Path(directory).resolve()) for directory in fixtures], marks)).encode())
    digest.update(code_digest().encode())
    return seed_dir() / f"{digest.hexdigest()[:32]}{_SUFFIX}"


@functools.cache
def code_digest() -> str:
    """A digest of every module of mockflow (its path, mtime and size, as Python checks bytecode)
    and of the Python version: the records, loaders and checks that made a seed are all in it, so
    a seed never outlives the code that wrote it. Stat, not read: reading all 200 modules cost
    7 ms of every start (and `Path.rglob` another 3 ms over `os.scandir`)."""
    digest = hashlib.sha256(sys.version.encode())
    for mark in sorted(_module_marks(str(_PACKAGE), "")):
        digest.update(mark.encode())
    return digest.hexdigest()


def _module_marks(directory: str, prefix: str) -> Iterator[str]:
    """`relative/path.py:mtime_ns:size;` of every module below `directory`."""
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name != "__pycache__":
                    yield from _module_marks(entry.path, f"{prefix}{entry.name}/")
            elif entry.name.endswith(".py"):
                stat = entry.stat()
                yield f"{prefix}{entry.name}:{stat.st_mtime_ns}:{stat.st_size};"


def _store_from_disk(path: Path) -> Store | None:
    try:
        store = Store(_mapped(path))
    except _UNREADABLE:
        return None
    if not isinstance(store.state, State):
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: the last to be pruned
    return store


def _mapped(path: Path) -> mmap.mmap:
    """The seed file mapped read-only: it thaws straight from the page cache, with no copy of
    its hundreds of megabytes made first (at a million task instances, about a second less of a
    first start, most of it the kernel handing out fresh pages). Seed files are only ever
    replaced by a rename or removed, never rewritten in place, so the mapped bytes stay as they
    were while this process lives."""
    with path.open("rb") as file:
        return mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)


def _write_seed(path: Path, seed: Seed) -> None:
    if write_whole(path, seed):
        with contextlib.suppress(OSError):  # another process pruning at the same moment
            _prune(path.parent)


def _prune(directory: Path) -> None:
    """Keeps the most recently used seed files, at most `_FILES_KEPT` and `_BYTES_KEPT` bytes."""
    stats = sorted(((path, path.stat()) for path in directory.glob(f"*{_SUFFIX}")),
                   key=lambda item: item[1].st_mtime_ns, reverse=True)
    total = 0
    for rank, (path, stat) in enumerate(stats):
        total += stat.st_size
        if rank > 0 and (rank >= _FILES_KEPT or total > _BYTES_KEPT):
            path.unlink(missing_ok=True)
