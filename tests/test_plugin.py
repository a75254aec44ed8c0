"""The pytest plugin, loaded the way users load it (its `pytest11` entry point) in pytester sessions."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from mockflow import LiveServer, Settings, create_app

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "pytest.md"
README = ROOT / "README.md"
STRICT = ("-W", "error", "-p", "no:cacheprovider")


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), re.S)


def write_blocks(pytester: pytest.Pytester, path: Path, first: int | None = None) -> int:
    """Each block (of the `first` ones) is a test module whose first line names its file
    (`# test_x.py`); returns how many tests."""
    tests = 0
    for block in python_blocks(path)[:first]:
        name = block.splitlines()[0].removeprefix("# ").strip()
        assert re.fullmatch(r"test_\w+\.py", name), f"{path.name}: a block must start with '# test_<name>.py'"
        pytester.path.joinpath(name).write_text(block)
        tests += len(re.findall(r"^(?:async )?def test_", block, re.M))
    return tests


def test_every_docs_example_passes_in_a_fresh_directory_under_w_error(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("airflow_fixtures").mkdir()
    pytester.path.joinpath("airflow_fixtures", "pools.yaml").write_text("- name: reporting\n  slots: 2\n")
    tests = write_blocks(pytester, DOCS)
    assert tests >= 10
    result = pytester.runpytest_subprocess(*STRICT)
    result.assert_outcomes(passed=tests)


def test_the_readmes_first_example_passes_as_copied(pytester: pytest.Pytester) -> None:
    tests = write_blocks(pytester, README, first=1)
    assert tests == 3
    result = pytester.runpytest_subprocess(*STRICT)
    result.assert_outcomes(passed=tests)


@pytest.mark.parametrize("fixture", ["mockflow", "mockflow_server"])
def test_each_test_starts_from_the_seed(pytester: pytest.Pytester, fixture: str) -> None:
    pytester.makepyfile(f"""
        import pytest

        @pytest.mark.mockflow(faults=[{{"match": {{"operation_id": "get_dags"}}, "effect": {{"status": 401}}}}],
                              clock="2030-01-01T00:00:00+00:00")
        def test_writes({fixture}):
            mock = {fixture}
            assert mock.client.post("/pools", json={{"name": "etl", "slots": 1}}).status_code == 200
            mock.app.pipeline.handlers["get_pools"] = lambda call: {{"pools": []}}
            assert mock.client.get("/dags").status_code == 401

        def test_sees_none_of_it({fixture}):
            assert "etl" not in [pool.name for pool in {fixture}.store.pools()]
            assert {fixture}.client.get("/dags").status_code == 200
            assert {fixture}.client.get("/pools").json()["total_entries"] > 0
            assert not {fixture}.control.get_clock()["frozen"]
            assert [call.operation_id for call in {fixture}.requests()] == ["get_dags", "get_pools"]
    """)
    pytester.runpytest(*STRICT).assert_outcomes(passed=2)


def test_the_marker_sets_fixtures_relative_to_the_test_file_auth_and_user(pytester: pytest.Pytester) -> None:
    pytester.mkdir("sub")
    pytester.path.joinpath("sub", "extra").mkdir()
    pytester.path.joinpath("sub", "extra", "variables.yaml").write_text("- key: answer\n  value: '42'\n")
    pytester.path.joinpath("sub", "test_marked.py").write_text("""
import pytest

@pytest.mark.mockflow(fixtures=["default", "extra"])
def test_layered(mockflow):
    assert mockflow.store.variables()["answer"] == "42"

@pytest.mark.mockflow(auth="deny")
def test_denied(mockflow):
    assert mockflow.client.get("/dags").status_code == 401

@pytest.mark.mockflow(user=None)
def test_anonymous(mockflow):
    assert mockflow.client.get("/dags").status_code == 401

@pytest.mark.mockflow(nonsense=1)
def test_unknown_keyword(mockflow):
    pass
""")
    result = pytester.runpytest(*STRICT)
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*unexpected keyword argument 'nonsense'*"])


def test_an_invalid_response_fails_the_test_with_a_readable_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_broken_handler(mockflow):
            mockflow.app.pipeline.handlers["get_version"] = lambda call: {"version": 1}
            mockflow.client.get("/version")

        def test_handlers_are_back(mockflow):
            assert mockflow.client.get("/version").json()["version"] == "2.5.3"
    """)
    result = pytester.runpytest(*STRICT)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*mockflow found problems in this test's requests:*",
                                 "*mockflow answered outside the spec: GET /api/v1/version -> 500 (get_version)*",
                                 "*mockflow journal (in-process)*"])


def test_an_invalid_request_fails_the_test_unless_it_opts_out(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        def test_sloppy_client(mockflow_server):
            assert mockflow_server.client.post("/pools", json={"name": "x", "slots": "many"}).status_code == 400

        @pytest.mark.mockflow(check_requests=False)
        def test_on_purpose(mockflow_server):
            assert mockflow_server.client.post("/pools", json={"name": "x", "slots": "many"}).status_code == 400
    """)
    result = pytester.runpytest(*STRICT)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*the client sent a request the spec rejects: POST /api/v1/pools -> 400*",
                                 "*check_requests=False*", "*mockflow journal (live)*"])


def test_a_failed_test_shows_its_journal_and_what_was_called_instead(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        def test_expects_a_trigger(mockflow):
            mockflow.client.get("/dags/ingest_orders")
            mockflow.assert_called("post_dag_run", times=1)
    """)
    result = pytester.runpytest(*STRICT)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*expected post_dag_run to be called once, it was called 0 times.*",
                                 "*Calls made:*", "*GET /api/v1/dags/ingest_orders -> 200 (get_dag)*",
                                 "*- mockflow journal (in-process) -*"])


def test_the_fixtures_option_and_ini_key_resolve_where_they_are_given(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("sets", "extra").mkdir(parents=True)
    pytester.path.joinpath("sets", "extra", "variables.yaml").write_text("- key: origin\n  value: here\n")
    pytester.makepyfile("""
        def test_layered(mockflow):
            assert mockflow.store.variables()["origin"] == "here"
            assert mockflow.store.dag("ingest_orders")
    """)
    pytester.runpytest(*STRICT, "--mockflow-fixtures=default", "--mockflow-fixtures=sets/extra").assert_outcomes(
        passed=1)
    pytester.makeini("[pytest]\nmockflow_fixtures =\n    default\n    sets/extra\n")
    pytester.runpytest(*STRICT).assert_outcomes(passed=1)


XDIST_TESTS = """
    import os
    import pytest

    @pytest.mark.parametrize("n", range(6))
    def test_isolated(mockflow_server, n):
        assert mockflow_server.client.post("/pools", json={"name": "shared", "slots": 1}).status_code == 200
        assert [call.status for call in mockflow_server.requests()] == [200]
        with open(f"seen-{os.environ['PYTEST_XDIST_WORKER']}-{n}", "w") as out:
            out.write(mockflow_server.url)
"""


def test_xdist_workers_each_get_their_own_server(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(XDIST_TESTS)
    result = pytester.runpytest_subprocess(*STRICT, "-n", "2", "--dist", "load")
    result.assert_outcomes(passed=6)
    seen = {path.name.split("-")[1]: path.read_text() for path in pytester.path.glob("seen-*")}
    assert len(seen) == 2 and len(set(seen.values())) == 2, seen


def test_xdist_workers_sharing_an_external_mockflow_each_get_a_namespace(pytester: pytest.Pytester) -> None:
    app = create_app(Settings())
    pytester.makepyfile(XDIST_TESTS.replace("mockflow_server.url", "mockflow_server.namespace"))
    with LiveServer(app) as server:
        result = pytester.runpytest_subprocess(*STRICT, "-n", "2", f"--mockflow-url={server.url}")
    result.assert_outcomes(passed=6)
    assert {path.read_text() for path in pytester.path.glob("seen-*")} == {"pytest-gw0", "pytest-gw1"}
    assert sorted(app.namespaces.names()) == ["default", "pytest-gw0", "pytest-gw1"]
    assert app.control.count_requests()["count"] == 0  # nobody wrote to the default namespace


def test_against_a_server_without_controls_tests_run_and_faults_are_skipped(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        def test_plain(mockflow):
            assert mockflow.client.get("/version").status_code == 200
            assert not mockflow.controlled

        @pytest.mark.mockflow(faults=[{"match": {"operation_id": "get_dags"}, "effect": {"status": 401}}])
        def test_needs_faults(mockflow):
            pass
    """)
    with LiveServer(create_app(Settings(control=False))) as server:  # stands in for a real Airflow
        result = pytester.runpytest(*STRICT, f"--mockflow-url={server.url}", "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*faults and clocks need a mockflow*"])


def test_airflow_client_skips_cleanly_without_the_package(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("import sys\n"  # as if not installed (pytester restores sys.modules afterwards)
                          "sys.modules['airflow_client'] = sys.modules['airflow_client.client'] = None\n")
    pytester.makepyfile("def test_client(airflow_client):\n    pass\n")
    result = pytester.runpytest(*STRICT, "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*apache-airflow-client is not installed*"])


def test_loading_the_plugin_imports_no_web_framework() -> None:
    script = ("import sys, mockflow.pytest_plugin\n"
              "print(sorted(m for m in ('starlette', 'uvicorn', 'httpx', 'mockflow.app') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
