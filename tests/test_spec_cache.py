"""The parsed spec kept beside the bytecode: read back whole, missed on any edit, never trusted blindly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mockflow.spec import AIRFLOW_2_5_3, Spec, SpecSource, _cache_file, _read_cache, _write_cache, load_spec

ROOT = Path(__file__).resolve().parents[1]


def test_the_name_follows_the_document_and_the_code_that_corrects_it() -> None:
    data = AIRFLOW_2_5_3.read_bytes()
    name = _cache_file(AIRFLOW_2_5_3, data)
    assert name is not None and name == _cache_file(AIRFLOW_2_5_3, data)
    assert _cache_file(AIRFLOW_2_5_3, data + b"\n# edited\n") != name
    unpatched = SpecSource(AIRFLOW_2_5_3.package, AIRFLOW_2_5_3.filename)
    assert _cache_file(unpatched, data) not in (None, name)


def test_a_written_spec_reads_back_equal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    spec = load_spec()
    _write_cache(tmp_path / "spec.pickle", spec)
    again = _read_cache(tmp_path / "spec.pickle")
    assert isinstance(again, Spec) and again is not spec
    assert (again.raw, again.operations, again.schemas, again.prefix) == (spec.raw, spec.operations, spec.schemas,
                                                                          spec.prefix)
    assert [path.name for path in tmp_path.iterdir()] == ["spec.pickle"]  # no temporary left behind


def test_nothing_is_written_when_bytecode_is_not(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    _write_cache(tmp_path / "spec.pickle", load_spec())
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("content", [b"", b"not a pickle", b"\x80\x05K\x01."])  # the last is the int 1
def test_a_damaged_or_foreign_file_is_parsed_past(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "spec.pickle").write_bytes(content)
    assert _read_cache(tmp_path / "spec.pickle") is None
    assert _read_cache(tmp_path / "absent.pickle") is None


def test_a_second_process_loads_the_spec_without_parsing_yaml(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path)  # bytecode and the pickle go here, not into the checkout
    first = "from mockflow.spec import load_spec; print(len(load_spec().operations))"
    second = "import yaml; yaml.load = None; " + first  # any parse would now fail
    assert subprocess.run([sys.executable, "-c", second], cwd=ROOT, env=env, capture_output=True).returncode != 0
    for code in (first, second):
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert int(done.stdout) == len(load_spec().operations)
    assert list(tmp_path.rglob("*.pickle"))


def test_a_source_that_is_no_package_is_refused_by_name() -> None:
    with pytest.raises(FileNotFoundError, match=r"mockflow\.spec\.patches is not a package"):
        SpecSource("mockflow.spec.patches", "openapi.yaml").read_bytes()
