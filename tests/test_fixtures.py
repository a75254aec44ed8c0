"""Fixture sets: the embedded default set, strict loading (schema and references), layering."""

from __future__ import annotations

import copy
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from mockflow.control.checks import CONTROL_SPEC
from mockflow.fixtureset.load import FixtureError, check_fixture_sets, default_fixture_dir, load_fixture_sets
from mockflow.spec import AIRFLOW_2_5_3, load_spec

JSON = dict[str, Any]
DEFAULT = Path(__file__).resolve().parents[1] / "fixtures" / "default"


# --- the default set ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def default_state() -> Any:
    return load_fixture_sets([DEFAULT])


def test_the_default_set_is_what_serve_loads_without_arguments() -> None:
    assert default_fixture_dir().resolve() == DEFAULT.resolve()
    state, problems = check_fixture_sets([])
    assert problems == []
    assert state is not None and "ingest_orders" in state.dags


def test_the_default_set_has_the_promised_variety(default_state: Any) -> None:
    state = default_state
    assert len(state.dags) >= 12
    schedules = {f"{(dag.schedule_interval or {}).get('__type')}:{(dag.schedule_interval or {}).get('value')}"
                 for dag in state.dags.values()}
    assert {"CronExpression:Dataset", "CronExpression:@once", "None:None"} <= schedules
    assert any(s.startswith("TimeDelta") for s in schedules)
    assert any(not dag.is_active for dag in state.dags.values())
    assert any(dag.is_paused and dag.is_active for dag in state.dags.values())
    assert any(task.is_mapped and task.map_length for dag in state.dags.values() for task in dag.tasks.values())
    assert any(task.outlets for dag in state.dags.values() for task in dag.tasks.values())
    assert any(dag.dataset_triggers for dag in state.dags.values())
    assert any(task.extra_links for dag in state.dags.values() for task in dag.tasks.values())
    assert {run.state for run in state.dag_runs.values()} == {"queued", "running", "success", "failed"}
    ti_states = {ti.state for ti in state.task_instances.values()}
    assert ti_states == {"success", "running", "failed", "upstream_failed", "skipped", "up_for_retry",
                         "up_for_reschedule", "queued", "scheduled", "deferred", "removed", None}
    assert state.xcoms and state.import_errors and state.dag_warnings and state.event_logs
    assert state.plugins and state.providers and state.datasets and state.dataset_events
    tries = Counter((log.dag_id, log.dag_run_id, log.task_id, log.map_index) for log in state.logs.values())
    assert max(tries.values()) >= 3  # logs of several tries


def test_the_default_set_documents_its_users_and_passwords(default_state: Any) -> None:
    users = default_state.users
    for name, role in [("admin", "Admin"), ("op", "Op"), ("user", "User"), ("viewer", "Viewer"), ("public", "Public")]:
        assert users[name].password == name and users[name].roles == [role]
    custom = default_state.roles["Analyst"]
    assert any(resource.startswith("DAG:") for _, resource in custom.permissions)
    docs = (DEFAULT.parents[1] / "docs" / "fixtures.md").read_text()
    assert "admin" in docs and "Analyst" in docs


def test_the_default_set_has_json_variables_and_connection_secrets(default_state: Any) -> None:
    values = [variable.value for variable in default_state.variables.values()]
    assert any(value.startswith(("{", "[")) and orjson.loads(value) for value in values)
    conns = default_state.connections.values()
    assert len({conn.conn_type for conn in conns}) >= 5
    assert any(conn.password for conn in conns) and any((conn.extra or "").startswith("{") for conn in conns)


def test_pools_of_the_default_set_have_slots_in_use(default_state: Any) -> None:
    from mockflow.store.pools import all_slot_usage

    usage = all_slot_usage(default_state)
    assert sum(counts["running"] + counts["queued"] for counts in usage.values()) >= 3
    assert len([name for name in usage if name != "default_pool"]) >= 2


# --- a small valid set to break -------------------------------------------------------------------

def task(task_id: str, downstream: list[str] | None = None, **extra: Any) -> JSON:
    return {"task_id": task_id, "downstream_task_ids": downstream or [], "pool": "default_pool",
            "class_ref": {"class_name": "BashOperator", "module_path": "airflow.operators.bash"},
            "operator_name": "BashOperator", "retries": 1.0, "is_mapped": False, **extra}


def ti(task_id: str, **extra: Any) -> JSON:
    return {"task_id": task_id, "map_index": -1, "state": "success", "try_number": 1, "max_tries": 1,
            "pool": "default_pool", **extra}


def base_files() -> dict[str, Any]:
    dag = {
        "dag_id": "etl", "is_paused": False, "is_active": True, "owners": ["data"], "tags": [{"name": "t"}],
        "schedule_interval": {"__type": "CronExpression", "value": "@daily"}, "fileloc": "/dags/etl.py",
        "start_date": "2024-01-01T00:00:00+00:00", "timezone": "Timezone('UTC')",
        "tasks": [task("extract", ["load"]), task("load"),
                  {**task("fan", is_mapped=True), "x-mockflow": {"map_length": 2}}],
        "source": "print('etl')\n",
        "dag_runs": [{
            "dag_run_id": "scheduled__2024-01-01T00:00:00+00:00", "dag_id": "etl",
            "logical_date": "2024-01-01T00:00:00+00:00", "state": "success", "run_type": "scheduled",
            "task_instances": [
                ti("extract", xcom_entries=[{"key": "return_value", "value": "42"}],
                   logs=[{"try_number": 1, "content": "ok\n"}]),
                ti("load"), ti("fan", map_index=0), ti("fan", map_index=1),
            ],
        }],
    }
    return {
        "pools.yaml": [{"name": "etl_pool", "slots": 4, "description": "ETL"}],
        "variables.yaml": [{"key": "env", "value": "test"}],
        "connections.yaml": [{"connection_id": "db", "conn_type": "postgres", "password": "secret"}],
        "roles.yaml": [{"name": "EtlReader", "actions": [{"action": {"name": "can_read"},
                                                          "resource": {"name": "DAG:etl"}}]}],
        "users.yaml": [{"username": "alice", "email": "alice@example.com", "first_name": "A", "last_name": "L",
                        "roles": [{"name": "EtlReader"}], "password": "pw"}],
        "datasets.yaml": [{"id": 1, "uri": "s3://bucket/raw"}],
        "dataset_events.yaml": [{"id": 1, "dataset_id": 1, "dataset_uri": "s3://bucket/raw",
                                 "timestamp": "2024-01-01T01:00:00+00:00", "source_dag_id": "etl",
                                 "source_task_id": "load", "source_run_id": "scheduled__2024-01-01T00:00:00+00:00",
                                 "created_dagruns": []}],
        "dags/etl.yaml": dag,
    }


def write_set(root: Path, files: dict[str, Any]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".json"):
            path.write_bytes(orjson.dumps(content))
        else:
            path.write_text(yaml.safe_dump(content, sort_keys=False))
    return root


@pytest.fixture
def make_set(tmp_path: Path) -> Callable[..., Path]:
    counter = iter(range(1000))

    def make(change: Callable[[dict[str, Any]], None] | None = None, files: dict[str, Any] | None = None) -> Path:
        content = copy.deepcopy(files if files is not None else base_files())
        if change:
            change(content)
        return write_set(tmp_path / f"set{next(counter)}", content)

    return make


def problems_of(*dirs: Path) -> list[str]:
    return [str(problem) for problem in check_fixture_sets(dirs)[1]]


def test_the_small_set_is_valid(make_set: Callable[..., Path]) -> None:
    state = load_fixture_sets([make_set()])
    assert set(state.dags) == {"etl"} and len(state.task_instances) == 4
    assert state.users["alice"].password == "pw" and state.connections["db"].password == "secret"


def _dag(files: dict[str, Any]) -> JSON:
    return files["dags/etl.yaml"]  # type: ignore[no-any-return]


def _run(files: dict[str, Any]) -> JSON:
    return _dag(files)["dag_runs"][0]  # type: ignore[no-any-return]


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change that sets one value, addressed as file/key/0/key..."""
    def change(files: dict[str, Any]) -> None:
        file, *keys = path.split("/")
        if file == "dags":
            file, keys = "dags/etl.yaml", keys[1:]
        node: Any = files[file]
        for key in keys[:-1]:
            node = node[int(key)] if isinstance(node, list) else node[key]
        last = keys[-1]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return change


BROKEN: list[tuple[str, Callable[[dict[str, Any]], None], str, str]] = [
    ("wrong type", _set("pools.yaml/0/slots", "four"), "pools.yaml", '[0].slots: "four" is not of type "integer"'),
    ("missing key", lambda f: f["pools.yaml"][0].pop("slots"), "pools.yaml", '"slots" is a required property'),
    ("bad enum", _set("dags/etl/dag_runs/0/state", "done"), "etl.yaml", "dag_runs[0].state"),
    ("bad TI state", _set("dags/etl/dag_runs/0/task_instances/1/state", "ok"), "etl.yaml",
     "dag_runs[0].task_instances[1].state"),
    ("bad date", _set("dags/etl/start_date", "yesterday"), "etl.yaml", "start_date"),
    ("unknown task", _set("dags/etl/dag_runs/0/task_instances/1/task_id", "nope"), "etl.yaml",
     "unknown task 'nope'"),
    ("unknown downstream", _set("dags/etl/tasks/0/downstream_task_ids", ["ghost"]), "etl.yaml",
     "tasks[0].downstream_task_ids[0]: unknown task 'ghost'"),
    ("cycle", _set("dags/etl/tasks/1/downstream_task_ids", ["extract"]), "etl.yaml", "cycle"),
    ("unknown pool", _set("dags/etl/tasks/1/pool", "nowhere"), "etl.yaml", "unknown pool 'nowhere'"),
    ("unknown TI pool", _set("dags/etl/dag_runs/0/task_instances/0/pool", "nowhere"), "etl.yaml", "unknown pool"),
    ("mapped index on unmapped task", _set("dags/etl/dag_runs/0/task_instances/1/map_index", 3), "etl.yaml",
     "not mapped"),
    ("index beyond map_length", _set("dags/etl/dag_runs/0/task_instances/3/map_index", 5), "etl.yaml",
     "beyond the task's map_length"),
    ("map_length on unmapped task", _set("dags/etl/tasks/0/x-mockflow", {"map_length": 2}), "etl.yaml",
     "map_length is set on a task that is not mapped"),
    ("typo in x-mockflow", _set("dags/etl/tasks/0/x-mockflow", {"map_lenght": 2}), "etl.yaml", "x-mockflow"),
    ("duplicate run", lambda f: _dag(f)["dag_runs"].append(copy.deepcopy(_run(f))), "etl.yaml",
     "duplicate dag_run_id"),
    ("duplicate TI", lambda f: _run(f)["task_instances"].append(ti("load")), "etl.yaml", "duplicate task instance"),
    ("run of another DAG", _set("dags/etl/dag_runs/0/dag_id", "other"), "etl.yaml", "run of DAG 'other'"),
    ("run without a date", lambda f: _run(f).pop("logical_date"), "etl.yaml", "needs a logical_date"),
    ("log of a later try", _set("dags/etl/dag_runs/0/task_instances/0/logs", [{"try_number": 2, "content": ""}]),
     "etl.yaml", "log for try 2"),
    ("duplicate XCom key", lambda f: _run(f)["task_instances"][0]["xcom_entries"].append({"key": "return_value"}),
     "etl.yaml", "duplicate XCom key"),
    ("dag_id and file name differ", _set("dags/etl/dag_id", "etl2"), "etl.yaml", "in a file named for DAG 'etl'"),
    ("user with unknown role", _set("users.yaml/0/roles", [{"name": "Wizard"}]), "users.yaml",
     "unknown role 'Wizard'"),
    ("duplicate user", lambda f: f["users.yaml"].append(dict(f["users.yaml"][0])), "users.yaml", "duplicate key"),
    ("duplicate pool", lambda f: f["pools.yaml"].append(dict(f["pools.yaml"][0])), "pools.yaml",
     "[1]: duplicate key 'etl_pool'"),
    ("role with unknown action", _set("roles.yaml/0/actions/0/action/name", "can_fly"), "roles.yaml",
     "unknown action 'can_fly'"),
    ("role for an unknown DAG", _set("roles.yaml/0/actions/0/resource/name", "DAG:ghost"), "roles.yaml",
     "unknown DAG 'ghost'"),
    ("event of unknown dataset", _set("dataset_events.yaml/0/dataset_id", 9), "dataset_events.yaml",
     "unknown dataset id 9"),
    ("event created an unknown run", _set("dataset_events.yaml/0/created_dagruns",
                                          [{"dag_id": "etl", "dag_run_id": "manual__x"}]), "dataset_events.yaml",
     "created_dagruns[0].dag_run_id: unknown run 'manual__x'"),
    ("unlimited pool", _set("pools.yaml/0/slots", -1), "pools.yaml", "slots -1"),
]


@pytest.mark.parametrize(("change", "file", "expected"), [case[1:] for case in BROKEN], ids=[c[0] for c in BROKEN])
def test_a_broken_set_is_refused_with_file_place_and_reason(
        make_set: Callable[..., Path], change: Callable[[dict[str, Any]], None], file: str, expected: str) -> None:
    directory = make_set(change)
    with pytest.raises(FixtureError) as raised:
        load_fixture_sets([directory])
    found = [str(problem) for problem in raised.value.problems]
    assert any(file in text and expected in text for text in found), found


def test_yaml_problems_name_the_line(make_set: Callable[..., Path]) -> None:
    directory = make_set(_set("dags/etl/dag_runs/0/task_instances/1/state", "ok"))
    text = (directory / "dags" / "etl.yaml").read_text().splitlines()
    [problem] = problems_of(directory)
    line = int(problem.split("line ")[1].split(",")[0])
    assert "state: ok" in text[line - 1]


def test_a_key_twice_in_one_yaml_mapping_is_refused(make_set: Callable[..., Path]) -> None:
    directory = make_set()
    (directory / "variables.yaml").write_text("- key: a\n  value: x\n  value: y\n")
    [problem] = problems_of(directory)
    assert "variables.yaml" in problem and "duplicate key 'value'" in problem and "line 3" in problem


def test_every_problem_is_reported_not_only_the_first(make_set: Callable[..., Path]) -> None:
    def break_many(files: dict[str, Any]) -> None:
        files["pools.yaml"][0]["slots"] = "x"
        files["users.yaml"][0]["roles"] = [{"name": "Wizard"}]
        _run(files)["task_instances"][1]["task_id"] = "nope"
        files["variables.yaml"] = "not a list"

    found = problems_of(make_set(break_many))
    assert len(found) == 4
    assert {Path(text.split(":")[0]).name for text in found} == {"pools.yaml", "users.yaml", "etl.yaml",
                                                                  "variables.yaml"}


def test_nothing_is_half_loaded(make_set: Callable[..., Path]) -> None:
    state, found = check_fixture_sets([make_set(_set("dataset_events.yaml/0/dataset_id", 9))])
    assert state is None and found


def test_unparsable_files_are_problems_too(make_set: Callable[..., Path]) -> None:
    directory = make_set()
    (directory / "pools.yaml").write_text("- name: [unclosed\n")
    (directory / "dags" / "broken.json").write_text("{")
    found = problems_of(directory)
    assert any("pools.yaml" in text and "not valid YAML" in text for text in found)
    assert any("broken.json" in text and "not valid JSON" in text for text in found)


def test_a_misnamed_file_is_a_problem_not_silently_skipped(make_set: Callable[..., Path]) -> None:
    directory = make_set()
    (directory / "pools.yaml").rename(directory / "pool.yaml")
    found = problems_of(directory)
    assert any("pool.yaml: not a fixture file: expected one of" in text for text in found)


def test_json_files_and_collection_answers_load(make_set: Callable[..., Path]) -> None:
    files = base_files()
    files["dags/etl.json"] = files.pop("dags/etl.yaml")
    files["pools.json"] = {"pools": files.pop("pools.yaml"), "total_entries": 1}
    state = load_fixture_sets([make_set(files=files)])
    assert "etl_pool" in state.pools and "etl" in state.dags


def test_two_files_for_one_dag_in_one_set_are_refused(make_set: Callable[..., Path]) -> None:
    files = base_files()
    files["dags/etl.json"] = copy.deepcopy(files["dags/etl.yaml"])
    assert any("a second file for DAG 'etl'" in text for text in problems_of(make_set(files=files)))


# --- layering -------------------------------------------------------------------------------------

def test_a_later_set_replaces_objects_with_the_same_key(make_set: Callable[..., Path]) -> None:
    base = make_set()
    override = make_set(files={
        "pools.yaml": [{"name": "etl_pool", "slots": 9}, {"name": "extra", "slots": 1}],
        "users.yaml": [{"username": "ALICE", "email": "a2@example.com", "roles": [{"name": "Viewer"}]}],
    })
    state = load_fixture_sets([base, override])
    assert state.pools["etl_pool"].slots == 9 and state.pools["etl_pool"].description is None
    assert list(state.pools) == ["default_pool", "etl_pool", "extra"]  # replaced in place, new ones after
    assert state.users["alice"].email == "a2@example.com" and state.users["alice"].roles == ["Viewer"]
    assert state.variables["env"].value == "test"  # untouched objects stay


def test_a_later_dag_file_replaces_the_whole_dag_with_its_runs(make_set: Callable[..., Path]) -> None:
    base = make_set()
    dag = copy.deepcopy(base_files()["dags/etl.yaml"])
    dag["description"] = "replaced"
    dag["dag_runs"] = []
    override = make_set(files={"dags/etl.json": dag})
    state = load_fixture_sets([base, override])
    assert state.dags["etl"].description == "replaced"
    assert not state.dag_runs and not state.task_instances and not state.xcoms and not state.logs


def test_references_may_point_into_an_earlier_layer(make_set: Callable[..., Path]) -> None:
    override = make_set(files={"users.yaml": [{"username": "bob", "email": "b@example.com",
                                               "roles": [{"name": "EtlReader"}]}]})
    state = load_fixture_sets([make_set(), override])
    assert state.users["bob"].roles == ["EtlReader"]
    assert problems_of(override) == [f"{override / 'users.yaml'}: line 4, [0].roles[0].name: unknown role 'EtlReader'"]


# --- the command ----------------------------------------------------------------------------------

def test_check_fixtures_command(make_set: Callable[..., Path]) -> None:
    good = subprocess.run([sys.executable, "-m", "mockflow", "check-fixtures", str(make_set())],
                          capture_output=True, text=True, check=False)
    assert good.returncode == 0 and good.stdout.startswith("ok: 1 DAGs, 1 runs, 4 task instances")

    def two_problems(files: dict[str, Any]) -> None:
        files["pools.yaml"][0]["slots"] = "x"
        files["users.yaml"][0]["roles"] = [{"name": "Wizard"}]

    bad = subprocess.run([sys.executable, "-m", "mockflow", "check-fixtures", str(make_set(two_problems))],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 1
    assert "pools.yaml" in bad.stderr and "Wizard" in bad.stderr and "2 problems found" in bad.stderr


# --- export and import ----------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_export_then_load_gives_an_equal_state(default_state: Any, tmp_path: Path, fmt: str) -> None:
    from mockflow.fixtureset.export import export_state

    export_state(default_state, tmp_path / "out", fmt)
    assert load_fixture_sets([tmp_path / "out"]) == default_state
    again = tmp_path / "again"
    export_state(load_fixture_sets([tmp_path / "out"]), again, fmt)
    assert sorted(p.read_bytes() for p in again.rglob("*.*")) == sorted(p.read_bytes() for p in (tmp_path / "out")
                                                                        .rglob("*.*"))


def test_export_keeps_what_the_api_changed(make_client: Callable[..., Any], tmp_path: Path) -> None:
    from mockflow.fixtureset.export import export_state

    client = make_client(DEFAULT)
    assert client.patch("/api/v1/dags/db_maintenance", json={"is_paused": False}).status_code == 200
    assert client.post("/api/v1/pools", json={"name": "new_pool", "slots": 3}).status_code == 200
    assert client.post("/api/v1/variables", json={"key": "k", "value": "v"}).status_code == 200
    assert client.delete("/api/v1/connections/ops_notes").status_code == 204
    state = client.app.store.state
    export_state(state, tmp_path / "live")
    loaded = load_fixture_sets([tmp_path / "live"])
    assert loaded.dags["db_maintenance"].is_paused is False
    assert loaded.pools["new_pool"].slots == 3 and loaded.variables["k"].value == "v"
    assert "ops_notes" not in loaded.connections
    # Equal but for the id counters: a deleted row's id is not kept (ids restart in creation order).
    loaded.last_ids = state.last_ids
    assert loaded == state


# --- shipping the default set in the wheel ---------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_is_listed_for_the_wheel() -> None:
    import tomllib

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {".".join(path.parent.relative_to(ROOT).parts) for path in (ROOT / "mockflow").rglob("__init__.py")}
    data = {"mockflow.default_fixtures", "mockflow.default_fixtures.dags"}
    assert set(setuptools["packages"]) == on_disk | data
    assert setuptools["package-dir"]["mockflow.default_fixtures"] == "fixtures/default"


@pytest.mark.slow
def test_an_installed_wheel_serves_the_default_set(tmp_path: Path) -> None:
    """`pip install .` (not editable) then `mockflow serve` finds the set without the checkout."""
    import shutil

    source = tmp_path / "source"  # a copy, so that the build leaves nothing in the checkout
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "mockflow", source / "mockflow", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(DEFAULT, source / "fixtures" / "default")
    pip = [sys.executable, "-m", "pip"]
    subprocess.run([*pip, "wheel", str(source), "--no-deps", "-q", "-w", str(tmp_path / "wheel")], check=True,
                   capture_output=True, timeout=300)
    [wheel] = (tmp_path / "wheel").glob("*.whl")
    subprocess.run([*pip, "install", "-q", "--no-deps", "--target", str(tmp_path / "site"), str(wheel)], check=True,
                   capture_output=True, timeout=300)
    probe = ("from mockflow.fixtureset.load import default_fixture_dir, load_fixture_sets; "
             "from mockflow.control.checks import CONTROL_SPEC; from mockflow.spec import AIRFLOW_2_5_3, load_spec; "
             "print(default_fixture_dir()); print(len(load_fixture_sets().dags)); "
             "print(len(load_spec(AIRFLOW_2_5_3).operations) + len(load_spec(CONTROL_SPEC).operations))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True,
                            env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"})
    where, dags, operations = result.stdout.split()
    assert where == str(tmp_path / "site" / "mockflow" / "default_fixtures") and int(dags) == 14
    # both specs ship: Airflow's and the control API's
    assert int(operations) == len(load_spec(AIRFLOW_2_5_3).operations) + len(load_spec(CONTROL_SPEC).operations)


def test_a_dag_warning_must_name_a_known_dag(make_set: Callable[..., Path]) -> None:
    def warn(files: dict[str, Any]) -> None:
        files["dag_warnings.yaml"] = [{"dag_id": "ghost", "warning_type": "nonexistent pool", "message": "m",
                                       "timestamp": "2024-01-01T00:00:00+00:00"},
                                      {"dag_id": "etl", "warning_type": "nonexistent pool", "message": "m",
                                       "timestamp": "2024-01-01T00:00:00+00:00"}]

    found = problems_of(make_set(warn))
    assert len(found) == 1 and "ghost" in found[0] and "dag_warnings" in found[0]
