"""`mockflow generate`: valid, varied and deterministic fixture sets of any size."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from mockflow.fixtureset.export import export_state
from mockflow.fixtureset.generate import GeneratorSettings, generate_set
from mockflow.fixtureset.load import check_fixture_sets, load_fixture_sets

SMALL = GeneratorSettings(dags=40, runs_per_dag=6, tasks_per_dag=6, seed=3)


def contents(directory: Path) -> dict[str, bytes]:
    files = sorted(path for path in directory.rglob("*") if path.is_file())
    return {str(path.relative_to(directory)): path.read_bytes() for path in files}


@pytest.fixture(scope="module")
def small_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "set"
    generate_set(SMALL, out)
    return out


def test_the_same_seed_writes_the_same_bytes(small_set: Path, tmp_path: Path) -> None:
    generate_set(SMALL, tmp_path / "again")
    assert contents(tmp_path / "again") == contents(small_set)
    generate_set(GeneratorSettings(dags=40, runs_per_dag=6, tasks_per_dag=6, seed=4), tmp_path / "other")
    assert contents(tmp_path / "other") != contents(small_set)


def test_a_generated_set_is_valid(small_set: Path) -> None:
    state, problems = check_fixture_sets([small_set])
    assert problems == []
    assert state is not None and len(state.dags) == 40 and len(state.dag_runs) == 240


def test_a_generated_set_has_the_variety_of_the_default_set(small_set: Path) -> None:
    state = load_fixture_sets([small_set])
    schedules = Counter(str((dag.schedule_interval or {}).get("__type")) for dag in state.dags.values())
    values = {str((dag.schedule_interval or {}).get("value")) for dag in state.dags.values()}
    assert schedules["TimeDelta"] and schedules["None"] and {"@once", "Dataset"} <= values
    assert {run.state for run in state.dag_runs.values()} == {"queued", "running", "success", "failed"}
    assert {run.run_type for run in state.dag_runs.values()} == {"scheduled", "manual", "dataset_triggered"}
    ti_states = {ti.state for ti in state.task_instances.values()}
    assert {"success", "failed", "upstream_failed", "skipped", "removed", None} <= ti_states
    assert ti_states & {"running", "queued", "scheduled", "up_for_retry", "up_for_reschedule", "deferred"}
    assert any(task.is_mapped for dag in state.dags.values() for task in dag.tasks.values())
    assert any(task.outlets for dag in state.dags.values() for task in dag.tasks.values())
    assert any(dag.dataset_triggers for dag in state.dags.values()) and state.dataset_events
    assert any(dag.wire.get("params") for dag in state.dags.values())
    assert any(not dag.is_active for dag in state.dags.values()) or len(state.dags) < 50
    assert state.xcoms and state.logs and max(log.try_number for log in state.logs.values()) >= 2
    assert {role for user in state.users.values() for role in user.roles} >= {"Admin", "Op", "User", "Viewer", "Public"}
    assert all(ti.pool in state.pools for ti in state.task_instances.values())


def test_a_generated_set_survives_export_and_import(small_set: Path, tmp_path: Path) -> None:
    state = load_fixture_sets([small_set])
    export_state(state, tmp_path / "out", "json")
    assert load_fixture_sets([tmp_path / "out"]) == state


def test_yaml_output_is_valid_too(tmp_path: Path) -> None:
    generate_set(GeneratorSettings(dags=5, runs_per_dag=2, tasks_per_dag=3, seed=1, fmt="yaml"), tmp_path / "y")
    assert {path.suffix for path in (tmp_path / "y").rglob("*.*")} == {".yaml"}
    assert check_fixture_sets([tmp_path / "y"])[1] == []


def test_refuses_bad_settings_and_a_non_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least"):
        generate_set(GeneratorSettings(dags=0), tmp_path / "a")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty"):
        generate_set(GeneratorSettings(dags=1), tmp_path / "b")


def test_generate_command(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    result = subprocess.run([sys.executable, "-m", "mockflow", "generate", "--dags", "12", "--runs-per-dag", "3",
                             "--seed", "9", "--out", str(out)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "12 DAGs, 36 runs" in result.stdout
    again = subprocess.run([sys.executable, "-m", "mockflow", "generate", "--dags", "12", "--out", str(out)],
                           capture_output=True, text=True, check=False)
    assert again.returncode == 2 and "not empty" in again.stderr
