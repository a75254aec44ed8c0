"""The seed cache: a fixture set is parsed once; later stores (in this process, or in another one
through the seed file beside the bytecode) restore the same state, and any edit misses the cache."""

from __future__ import annotations

import mmap
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from mockflow.fixtureset import cache
from mockflow.fixtureset.load import Progress, load_fixture_sets
from mockflow.store import State
from mockflow.store.restored import differences
from tests.conftest import MINIMAL


@pytest.fixture
def seeds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Seed files go to a fresh folder, written (the suite runs with PYTHONDONTWRITEBYTECODE), and
    the in-process cache starts empty, as in a new process."""
    folder = tmp_path / "seeds"
    monkeypatch.setattr(cache, "seed_dir", lambda: folder)
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(cache, "_SEEDS", {})
    return folder


@pytest.fixture
def fixture_set(tmp_path: Path) -> Path:
    copy = tmp_path / "set"
    shutil.copytree(MINIMAL, copy)
    return copy


def _count_loads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ...]]:
    loads: list[tuple[str, ...]] = []

    def counted(fixtures: tuple[str, ...], progress: Progress | None = None) -> State:
        loads.append(fixtures)
        return load_fixture_sets(fixtures, progress)

    monkeypatch.setattr(cache, "load_fixture_sets", counted)
    return loads


def _new_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cache, "_SEEDS", {})


def test_a_second_process_restores_the_seed_file_instead_of_reading_the_set(
        seeds: Path, fixture_set: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loads = _count_loads(monkeypatch)
    first = cache.seeded_store((str(fixture_set),))
    assert len(loads) == 1 and len(list(seeds.glob("*.seed"))) == 1
    _new_process(monkeypatch)
    second = cache.seeded_store((str(fixture_set),))
    assert len(loads) == 1, "the set was read again"
    assert differences(second.state, first.state) == [] and second.state == load_fixture_sets((str(fixture_set),))
    assert second.state is not first.state and second.seed[:] == first.seed
    assert isinstance(second.seed, mmap.mmap), "the seed file is mapped, not copied into the process"


def test_a_store_thawed_from_a_mapped_seed_file_resets_after_the_file_is_replaced_or_removed(
        seeds: Path, fixture_set: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process may replace a seed file (by rename) or prune it while this one still maps
    it: the mapping keeps the bytes it had, so resets still bring back the seeded state."""
    cache.seeded_store((str(fixture_set),))
    _new_process(monkeypatch)
    mapped = cache.seeded_store((str(fixture_set),))
    (path,) = seeds.glob("*.seed")
    other = path.with_name("other.tmp")
    other.write_bytes(b"not a seed")
    os.replace(other, path)
    mapped.state.dags.clear()
    assert mapped.reset() is None  # the log cannot lead back (rows removed behind its back): a thaw
    assert mapped.state == load_fixture_sets((str(fixture_set),))
    path.unlink()
    mapped.state.pools.clear()
    mapped.reset()
    assert mapped.state == load_fixture_sets((str(fixture_set),))


def test_an_edited_fixture_file_misses_both_caches(seeds: Path, fixture_set: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    loads = _count_loads(monkeypatch)
    cache.seeded_store((str(fixture_set),))
    (fixture_set / "variables.yaml").write_text("- {key: added_later, value: x}\n", encoding="utf-8")
    edited = cache.seeded_store((str(fixture_set),))
    assert len(loads) == 2 and "added_later" in edited.state.variables
    _new_process(monkeypatch)
    assert "added_later" in cache.seeded_store((str(fixture_set),)).state.variables
    assert len(loads) == 2 and len(list(seeds.glob("*.seed"))) == 2


def test_other_code_writes_another_seed_file(seeds: Path, fixture_set: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache.seeded_store((str(fixture_set),))
    before = cache.seed_file(((str(fixture_set),), cache.fingerprint((str(fixture_set),))))
    monkeypatch.setattr(cache, "code_digest", lambda: "another version of mockflow")
    after = cache.seed_file(((str(fixture_set),), cache.fingerprint((str(fixture_set),))))
    assert before.exists() and after != before and not after.exists()


def test_the_code_digest_follows_every_module_and_nothing_else(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "mockflow"
    (package / "store" / "__pycache__").mkdir(parents=True)
    (package / "cli.py").write_text("x = 1\n")
    (package / "store" / "records.py").write_text("y = 2\n")
    monkeypatch.setattr(cache, "_PACKAGE", package)
    first = cache.code_digest.__wrapped__()
    (package / "store" / "__pycache__" / "records.cpython-311.pyc").write_bytes(b"bytecode")
    (package / "store" / "notes.txt").write_text("not a module")
    assert cache.code_digest.__wrapped__() == first
    (package / "store" / "records.py").write_text("y = 22\n")  # a nested module, its size
    edited = cache.code_digest.__wrapped__()
    assert edited != first
    os.utime(package / "cli.py", ns=(1, 1))  # a top-level module, its mtime alone
    assert cache.code_digest.__wrapped__() not in (first, edited)


@pytest.mark.parametrize("content", [b"", b"not a pickle", b"\x80\x05K\x01.", b"\x80\x05\x95 broken"])
def test_a_broken_seed_file_is_ignored_and_replaced(seeds: Path, fixture_set: Path, monkeypatch: pytest.MonkeyPatch,
                                                    content: bytes) -> None:
    loads = _count_loads(monkeypatch)
    good = cache.seeded_store((str(fixture_set),))
    (path,) = seeds.glob("*.seed")
    path.write_bytes(content)  # `\x80\x05K\x01.` is a valid pickle of the integer 1, not a state
    _new_process(monkeypatch)
    again = cache.seeded_store((str(fixture_set),))
    assert len(loads) == 2 and again.state == good.state and path.read_bytes() == good.seed


def test_nothing_is_written_when_python_writes_no_bytecode(seeds: Path, fixture_set: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    cache.seeded_store((str(fixture_set),))
    assert not seeds.exists()


def test_an_unwritable_folder_only_costs_the_cache(tmp_path: Path, fixture_set: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    monkeypatch.setattr(cache, "seed_dir", lambda: blocker / "seeds")
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    monkeypatch.setattr(cache, "_SEEDS", {})
    assert "admin" in cache.seeded_store((str(fixture_set),)).state.users
    assert blocker.read_text() == "not a folder"


def test_only_the_most_recently_used_seed_files_stay(seeds: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    sets = []
    for number in range(6):
        copy = tmp_path / f"set{number}"
        shutil.copytree(MINIMAL, copy)
        sets.append(copy)
        cache.seeded_store((str(copy),))
        files = sorted(seeds.glob("*.seed"), key=lambda path: path.stat().st_mtime_ns)
        for age, path in enumerate(reversed(files)):  # distinct times, whatever the clock's resolution
            os.utime(path, ns=(10**18 - age, 10**18 - age))
    assert len(list(seeds.glob("*.seed"))) == 4
    kept: dict[str, Any] = {}
    for copy in sets:
        kept[copy.name] = cache.seed_file(((str(copy),), cache.fingerprint((str(copy),)))).exists()
    assert kept == {"set0": False, "set1": False, "set2": True, "set3": True, "set4": True, "set5": True}


def test_seed_files_stay_under_the_byte_budget_but_the_newest_always_stays(
        seeds: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = tmp_path / "first"
    shutil.copytree(MINIMAL, first)
    cache.seeded_store((str(first),))
    (only,) = seeds.glob("*.seed")
    monkeypatch.setattr(cache, "_BYTES_KEPT", only.stat().st_size // 2)  # smaller than any one seed
    os.utime(only, ns=(10**18 - 1, 10**18 - 1))  # older than what comes next, whatever the clock
    second = tmp_path / "second"
    shutil.copytree(MINIMAL, second)
    cache.seeded_store((str(second),))
    newest = cache.seed_file(((str(second),), cache.fingerprint((str(second),))))
    assert list(seeds.glob("*.seed")) == [newest]
