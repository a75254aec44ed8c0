"""`mockflow serve` as a user runs it, and the settings it reads."""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import fields
from importlib import metadata
from pathlib import Path

import httpx
import pytest

import mockflow
from mockflow import cli
from mockflow.console import ProgressLine
from mockflow.fixtureset.generate import GeneratorSettings, generate_set
from mockflow.settings import LIMITS, SettingError, Settings
from tests.conftest import MINIMAL

ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for(url: str, timeout: float = 20) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=1)
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_serve_reads_environment_answers_and_stops_cleanly_on_sigterm() -> None:
    port = _free_port()
    env = {**os.environ, "MOCKFLOW_PORT": str(port), "MOCKFLOW_AUTH": "none", "MOCKFLOW_FIXTURES": str(MINIMAL)}
    process = subprocess.Popen([sys.executable, "-m", "mockflow", "serve"], cwd=ROOT, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        response = _wait_for(f"http://127.0.0.1:{port}/api/v1/eventLogs")
        assert response.status_code == 200  # auth "none": no credentials needed
        assert response.json()["total_entries"] == 3  # the minimal set, not the default one
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    assert process.returncode == 0
    assert "GET /api/v1/eventLogs" in output  # one log line per request
    assert "Traceback" not in output


def test_serve_refuses_bad_settings_with_a_message() -> None:
    result = subprocess.run([sys.executable, "-m", "mockflow", "serve"], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "MOCKFLOW_PORT": "eighty"}, timeout=60)
    assert result.returncode == 2
    assert "MOCKFLOW_PORT must be an integer, not 'eighty'" in result.stderr


def test_serve_refuses_a_missing_fixture_directory(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "mockflow", "serve", "--fixtures", str(tmp_path / "nope")],
                            cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "fixture set not found" in result.stderr


def test_settings_precedence_defaults_then_environment_then_flags() -> None:
    assert Settings.from_env({}).port == 8080
    env = {"MOCKFLOW_PORT": "9000", "MOCKFLOW_AUTH": "deny", "MOCKFLOW_EXPOSE_CONFIG": "true",
           "MOCKFLOW_FIXTURES": f"a{os.pathsep}b"}
    settings = Settings.from_env(env)
    assert (settings.port, settings.auth, settings.expose_config, settings.fixtures) == (9000, "deny", True, ("a", "b"))
    assert Settings.from_env(env, port=9100, auth=None).port == 9100
    assert Settings.from_env(env, port=9100, auth=None).auth == "deny"


@pytest.mark.parametrize(("env", "message"), [
    ({"MOCKFLOW_AUTH": "kerberos"}, "MOCKFLOW_AUTH must be one of basic, none, deny, not 'kerberos'"),
    ({"MOCKFLOW_VALIDATION": "fast"}, "MOCKFLOW_VALIDATION must be one of compiled, openapi-core, off"),
    ({"MOCKFLOW_EXPOSE_CONFIG": "maybe"}, "MOCKFLOW_EXPOSE_CONFIG must be true or false"),
    ({"MOCKFLOW_PORT": "70000"}, "MOCKFLOW_PORT must be between 0 and 65535"),
    ({"MOCKFLOW_LOG_FORMAT": "xml"}, "MOCKFLOW_LOG_FORMAT must be one of text, json, not 'xml'"),
    ({"MOCKFLOW_MAX_JSON_DEPTH": "500"}, "MOCKFLOW_MAX_JSON_DEPTH must be at most 200"),
])
def test_bad_settings_name_the_variable_at_fault(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        Settings.from_env(env)


def test_a_bad_setting_is_named_by_where_it_came_from() -> None:
    with pytest.raises(SettingError, match=r"^port must be between"):
        Settings(port=-1).check()  # the Python API: the field's name
    with pytest.raises(SettingError, match=r"^--port must be between"):
        Settings.from_env({"MOCKFLOW_PORT": "70000"}, flags={"port": "--port"}, port=70001)
    # a flag that is fine does not take the blame for a variable that is not
    with pytest.raises(SettingError, match=r"^MOCKFLOW_JOURNAL_LIMIT must be 0 or more"):
        Settings.from_env({"MOCKFLOW_JOURNAL_LIMIT": "-1"}, flags={"port": "--port"}, port=9000)


# --- the command as a newcomer meets it ------------------------------------------------------------

def run_cli(*argv: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mockflow", *argv], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=120)


def test_version_comes_from_the_package_metadata() -> None:
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout == f"mockflow {metadata.version('airflow-mockflow')}\n"
    assert mockflow.__version__ == metadata.version("airflow-mockflow")  # what the banner shows


@pytest.mark.parametrize(("argv", "env", "message"), [
    (["serve", "--port", "70000"], {}, "mockflow: --port must be between 0 and 65535, not 70000"),
    (["serve"], {"MOCKFLOW_PORT": "70000"}, "mockflow: MOCKFLOW_PORT must be between 0 and 65535, not 70000"),
    (["serve", "--max-body-bytes", "0"], {}, "mockflow: --max-body-bytes must be 1 or more, not 0"),
    (["serve"], {"MOCKFLOW_MAX_QUERY_PARAMS": "many"}, "mockflow: MOCKFLOW_MAX_QUERY_PARAMS must be an integer"),
    (["serve", "--simulation-speed", "0"], {}, "mockflow: --simulation-speed must be above 0, not 0.0"),
    (["serve", "--fixtures", "default", "--fixtures", "no_such_dir"], {},
     "mockflow: --fixtures 'no_such_dir': fixture set not found (expected a directory)"),
    (["serve"], {"MOCKFLOW_FIXTURES": f"default{os.pathsep}no_such_dir"},
     "mockflow: MOCKFLOW_FIXTURES 'no_such_dir': fixture set not found"),
])
def test_user_errors_are_one_line_naming_the_flag_or_variable_and_exit_2(
        argv: list[str], env: dict[str, str], message: str) -> None:
    result = run_cli(*argv, env=env)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(message) and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_serving_a_broken_set_lists_its_problems_and_exits_2(tmp_path: Path) -> None:
    (tmp_path / "pools.yaml").write_text("- {name: etl, slots: four}\n")
    (tmp_path / "variables.yaml").write_text("- {key: a}\n")
    result = run_cli("serve", "--fixtures", "default", "--fixtures", str(tmp_path))
    assert result.returncode == 2
    assert result.stderr.startswith("mockflow: invalid fixture set (2 problems):\n")
    assert '[0].slots: "four" is not of type "integer"' in result.stderr and "\"value\" is a required" in result.stderr
    assert "Traceback" not in result.stderr


def _serve(tmp_path: Path, *argv: str, env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], Path]:
    log = tmp_path / "serve.log"
    with log.open("w") as output:  # the child has its own copy of the descriptor
        process = subprocess.Popen([sys.executable, "-m", "mockflow", "serve", "--port", "0", *argv], cwd=ROOT,
                                   env={**os.environ, **(env or {})}, stdout=output, stderr=subprocess.STDOUT,
                                   text=True)
    return process, log


def _wait_for_log(process: subprocess.Popen[str], log: Path, pattern: str, timeout: float = 30) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(pattern, log.read_text())
        if found:
            return found
        assert process.poll() is None, log.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{pattern!r} never appeared in:\n{log.read_text()}")


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=15)
    assert process.returncode == 0


def test_the_banner_names_sets_counts_auth_users_urls_control_and_simulation(tmp_path: Path) -> None:
    process, log = _serve(tmp_path, "--fixtures", "default", "--fixtures", str(MINIMAL),
                          "--control-token", "sesame", "--simulation-speed", "120")
    try:
        api = _wait_for_log(process, log, r"API:\s+(http://127\.0\.0\.1:\d+/api/v1)").group(1)
        dags = httpx.get(f"{api}/dags", auth=("admin", "admin"), params={"limit": 100}).json()["dags"]
    finally:
        _stop(process)
    text = log.read_text()
    # the default set's 14 DAGs and the minimal set's 2, layered
    assert {"ml_train", "sales_daily", "build_sales_mart", "customer_export"} <= {dag["dag_id"] for dag in dags}
    assert f"fixtures:    default + {MINIMAL}: 16 DAGs, " in text
    assert re.search(r"auth:\s+basic; users admin/admin, op/op, user/user, viewer/viewer, public/public", text)
    base = api.removesuffix("/api/v1")
    assert f"inspector:   {base}/_mockflow/" in text
    assert f"control API: on, token required, at {base}/_mockflow/" in text
    assert "simulation:  real, 120x" in text
    assert text.count("mockflow 0.") == 1 and "Traceback" not in text


def test_the_banner_says_when_control_and_auth_are_off(tmp_path: Path) -> None:
    process, log = _serve(tmp_path, "--no-control", "--auth", "none", "--simulation", "off",
                          "--fixtures", str(MINIMAL))
    try:
        _wait_for_log(process, log, r"simulation:\s+off")
    finally:
        _stop(process)
    text = log.read_text()
    assert "auth:        none (every request is let through)" in text
    assert "control API: off" in text and "inspector:   off" in text
    assert "fixtures:    " + str(MINIMAL) + ": 2 DAGs, " in text


def test_json_logs_are_one_object_per_line_for_start_up_and_requests(tmp_path: Path) -> None:
    process, log = _serve(tmp_path, "--fixtures", str(MINIMAL), "--auth", "none",
                          env={"MOCKFLOW_LOG_FORMAT": "json"})
    try:
        api = _wait_for_log(process, log, r'"api_url": "(http://[^"]+)"').group(1)
        assert httpx.get(f"{api}/pools/nope").status_code == 404
        _wait_for_log(process, log, r'"status": 404')
    finally:
        _stop(process)
    entries = [json.loads(line) for line in log.read_text().splitlines()]  # every line is one object
    [banner] = [entry for entry in entries if entry["logger"] == "mockflow.serve"]
    assert (banner["DAGs"], banner["auth"], banner["fixtures"]) == (2, "none", [str(MINIMAL)])
    assert banner["api_url"] == api and banner["control"].startswith("on, no token")
    [request] = [entry for entry in entries if entry["logger"] == "uvicorn.access"]
    assert (request["method"], request["path"], request["status"]) == ("GET", "/api/v1/pools/nope", 404)
    assert all({"time", "level", "message"} <= set(entry) for entry in entries)


def test_limit_flags_reach_the_server(tmp_path: Path) -> None:
    process, log = _serve(tmp_path, "--fixtures", str(MINIMAL), "--max-body-bytes", "64",
                          "--max-query-params", "2")
    try:
        api = _wait_for_log(process, log, r"API:\s+(http://\S+)").group(1)
        big = httpx.post(f"{api}/pools", auth=("admin", "admin"), json={"name": "x" * 100, "slots": 1})
        many = httpx.get(f"{api}/pools", auth=("admin", "admin"), params={"a": 1, "b": 2, "c": 3})
        fine = httpx.post(f"{api}/pools", auth=("admin", "admin"), json={"name": "ok", "slots": 1})
        pools = httpx.get(f"{api}/pools", auth=("admin", "admin")).json()
    finally:
        _stop(process)
    assert big.status_code == 413 and big.headers["content-type"] == "application/problem+json"
    assert many.status_code == 414 and many.json()["status"] == 414
    assert fine.status_code == 200
    assert sorted(pool["name"] for pool in pools["pools"]) == ["default_pool", "ok"]  # the refused one left nothing


def test_every_limit_setting_has_a_flag_that_sets_it() -> None:
    args = cli.build_parser().parse_args(["serve", *[part for number, name in enumerate(LIMITS, 7)
                                                      for part in (cli.SETTING_FLAGS[name], str(number))]])
    settings = cli.serve_settings(args, environ={})
    assert [getattr(settings, name) for name in LIMITS] == list(range(7, 7 + len(LIMITS)))


def test_every_setting_has_a_flag() -> None:
    parser = cli.build_parser()
    [commands] = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    serve = commands.choices["serve"]
    flags = {option for action in serve._actions for option in action.option_strings}
    assert set(cli.SETTING_FLAGS) == {field.name for field in fields(Settings)}
    assert set(cli.SETTING_FLAGS.values()) <= flags


# --- check-fixtures --------------------------------------------------------------------------------

def _broken_set(root: Path) -> Path:
    """Five problems of five kinds in four files; before, each kind hid the next and it took four runs."""
    broken = root / "broken"
    shutil.copytree(MINIMAL, broken)
    (broken / "pools.yaml").write_text("- {name: etl, slots: four}\n- {name: big, slots: -1}\n")
    (broken / "variables.yaml").write_text("- {key: a, value: '1'}\n- {key: a, value: '2'}\n")
    (broken / "connections.yaml").write_text("- {connection_id: db}\n")
    with (broken / "dags" / "ml_train.yaml").open("a") as dag:
        dag.write("dag_runs:\n  - dag_run_id: r1\n    state: sucess\n    run_type: manual\n"
                  "    logical_date: '2024-01-02T00:00:00+00:00'\n    task_instances:\n"
                  "      - {task_id: nope, state: success}\n")
    sales = broken / "dags" / "sales_daily.yaml"
    sales.write_text(sales.read_text().replace("pool: default_pool", "pool: etl"))
    return broken


def test_check_fixtures_lists_every_problem_of_a_set_in_one_run(tmp_path: Path) -> None:
    broken = _broken_set(tmp_path)
    result = run_cli("check-fixtures", str(broken))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[-1] == "5 problems found"
    expected = [
        f"{broken}/pools.yaml: line 1, [0].slots: \"four\" is not of type \"integer\"",
        f"{broken}/variables.yaml: line 2, [1]: duplicate key 'a' in this file",
        f"{broken}/connections.yaml: line 1, [0]: \"conn_type\" is a required property",
        f"{broken}/dags/ml_train.yaml: line 14, dag_runs[0].state: \"sucess\" is not one of "
        "\"queued\", \"running\", \"success\", \"failed\"",  # every choice, not two and a count
        f"{broken}/dags/ml_train.yaml: line 18, dag_runs[0].task_instances[0].task_id: unknown task 'nope'",
    ]
    for line in expected:
        assert any(found.startswith(line) for found in lines), (line, lines)
    # the broken pool file still names `etl`, so the DAG using it is not reported too; the
    # unlimited pool is the pool loader's to refuse, and a file with a problem is not loaded
    assert not any("unknown pool" in found or "slots -1" in found for found in lines)
    assert result.stdout == "" and "Traceback" not in result.stderr


def test_a_loaders_refusal_shows_beside_the_other_problems(tmp_path: Path) -> None:
    broken = _broken_set(tmp_path)
    (broken / "pools.yaml").write_text("- {name: etl, slots: 4}\n- {name: big, slots: -1}\n")
    result = run_cli("check-fixtures", str(broken))
    assert result.returncode == 1
    assert "slots -1 (unlimited) cannot be served" in result.stderr  # found by the pool loader
    assert "duplicate key 'a'" in result.stderr and "unknown task 'nope'" in result.stderr
    assert result.stderr.splitlines()[-1] == "5 problems found"


def test_check_fixtures_is_clean_on_a_good_set_and_layers_default(tmp_path: Path) -> None:
    result = run_cli("check-fixtures", "default", str(MINIMAL))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: 16 DAGs, ")
    assert result.stderr == ""  # no progress line off a terminal


# --- progress -----------------------------------------------------------------------------------------

class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_draws_on_a_terminal_and_clears_itself() -> None:
    terminal = _Terminal()
    progress = ProgressLine("loading", "DAG files", stream=terminal, delay=0)
    for done in range(1, 1001):
        progress(done, 1000)
    progress.close()
    drawn = terminal.getvalue()
    assert "\rloading: 1,000/1,000 DAG files (100%)" in drawn  # the last step is always drawn
    assert drawn.count("\r") < 50  # redrawn at most ten times a second, not once per file
    assert drawn.endswith("\r\x1b[K")


def test_progress_is_silent_off_a_terminal_and_for_quick_work() -> None:
    piped = io.StringIO()
    progress = ProgressLine("loading", "DAG files", stream=piped, delay=0)
    progress(1, 1)
    progress.say("connected")
    progress.close()
    quick = _Terminal()
    progress = ProgressLine("loading", "DAG files", stream=quick, delay=60)
    progress(1, 2)
    progress.close()
    assert piped.getvalue() == "" and quick.getvalue() == ""


def test_generate_reports_its_progress_and_stays_quiet_in_a_pipe(tmp_path: Path) -> None:
    steps: list[tuple[int, int]] = []
    generate_set(GeneratorSettings(dags=3, runs_per_dag=1, tasks_per_dag=2), tmp_path / "set",
                 lambda done, total: steps.append((done, total)))
    assert steps == [(1, 3), (2, 3), (3, 3)]
    result = run_cli("generate", "--dags", "2", "--runs-per-dag", "1", "--out", str(tmp_path / "piped"))
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.startswith(f"wrote {tmp_path / 'piped'}: 2 DAGs, 2 runs")


def test_a_busy_port_is_one_line_naming_the_flags_not_uvicorns_log() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("serve", "--port", str(port), "--fixtures", str(MINIMAL))
    assert result.returncode == 2
    assert result.stderr == (f"mockflow: cannot listen on 127.0.0.1:{port} (--host/--port, "
                             "MOCKFLOW_HOST/MOCKFLOW_PORT): Address already in use\n")
