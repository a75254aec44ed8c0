"""`mockflow capture`: a live server read into a fixture set, proven against mockflow itself."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from mockflow import Settings, create_app
from mockflow.fixtureset.capture import CaptureError, CaptureOptions, capture_to, stored_log
from mockflow.fixtureset.load import check_fixture_sets, load_fixture_sets
from mockflow.server import LiveServer

DEFAULT = Path(__file__).resolve().parents[1] / "fixtures" / "default"
OPTIONS = CaptureOptions(url="http://testserver", user="admin", password="admin")


def files_of(directory: Path) -> dict[str, bytes]:
    found = sorted(path for path in directory.rglob("*") if path.is_file())
    return {str(path.relative_to(directory)): path.read_bytes() for path in found}


def capture_app(fixtures: Path, out: Path, **settings: object) -> list[str]:
    app = create_app(Settings(fixtures=(str(fixtures),), **settings))  # type: ignore[arg-type]
    client = TestClient(app)
    client.auth = ("admin", "admin")
    lines: list[str] = []
    capture_to(OPTIONS, out, progress=lines.append, client=client)
    assert not app.health.invalid_responses and not app.health.crashes
    return lines


def capture_live(fixtures: Path, out: Path, **settings: object) -> list[str]:
    """Captures a mockflow running on a real socket, through a plain HTTP client."""
    app = create_app(Settings(fixtures=(str(fixtures),), **settings))  # type: ignore[arg-type]
    lines: list[str] = []
    with LiveServer(app) as server:
        options = CaptureOptions(url=server.url, user="admin", password="admin")
        capture_to(options, out, progress=lines.append)
    assert not app.health.invalid_responses and not app.health.crashes
    return lines


def test_capture_load_capture_again_is_identical(tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    progress = capture_live(DEFAULT, first)
    assert progress[0].startswith("connected to http://127.0.0.1:") and progress[0].endswith("Airflow 2.5.3")
    assert any(line.startswith("[14/14] ") for line in progress)
    assert check_fixture_sets([first])[1] == []
    # The capture has no passwords, so the second server lets everyone in.
    capture_live(first, second, auth="none")
    assert files_of(second) == files_of(first)
    assert len(files_of(first)) == 14 + 14  # the DAG files and every other kind


def test_a_capture_holds_what_the_api_shows(tmp_path: Path) -> None:
    capture_app(DEFAULT, tmp_path / "c")
    original, captured = load_fixture_sets([DEFAULT]), load_fixture_sets([tmp_path / "c"])
    assert set(captured.dags) == set(original.dags)
    assert set(captured.dag_runs) == set(original.dag_runs)
    assert {key: ti.state for key, ti in captured.task_instances.items()} == {
        key: ti.state for key, ti in original.task_instances.items()}
    assert captured.logs.keys() == original.logs.keys()
    assert all(captured.logs[key].content == log.content for key, log in original.logs.items())
    assert {key for key in original.xcoms if key[3] == -1} == set(captured.xcoms)  # mapped values are unreadable
    assert all(user.password is None for user in captured.users.values())
    assert all(conn.password is None for conn in captured.connections.values())
    assert captured.dags["process_store_files"].tasks["process_file"].map_length == 4
    assert captured.dags["trigger_partner_feeds"].tasks["trigger_export"].extra_links == ["Triggered DAG"]
    assert captured.dags["build_sales_mart"].dataset_triggers == original.dags["build_sales_mart"].dataset_triggers
    assert captured.dags["customer_export"].source == original.dags["customer_export"].source


def test_the_stored_log_text_is_recovered_from_the_api_content() -> None:
    assert stored_log("[('w1', '*** Reading local file: /x/attempt=1.log\\nline 1\\nline 2\\n')]") == "line 1\nline 2\n"
    assert stored_log("[('w1', '*** Log file does not exist: /x\\n*** Fetching from: http://w1\\n')]") is None
    assert stored_log("not a repr") is None


def test_a_non_empty_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(CaptureError, match="not empty"):
        capture_to(OPTIONS, tmp_path, client=TestClient(create_app(Settings(fixtures=(str(DEFAULT),)))))


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    with LiveServer(create_app(Settings(fixtures=(str(DEFAULT),)))) as server:
        yield server


def run_capture(url: str, out: Path, user: str = "admin", password: str = "admin") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mockflow", "capture", "--url", url, "--user", user,
                           "--password", password, "--out", str(out), "--max-runs", "2"],
                          capture_output=True, text=True, check=False, timeout=120)


def test_capture_command_over_http(live: LiveServer, tmp_path: Path) -> None:
    result = run_capture(live.url, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    # progress lines draw on a terminal only (test_capture_load_capture_again_is_identical reads them)
    assert result.stderr == "" and "captured" in result.stdout
    state = load_fixture_sets([tmp_path / "out"])
    assert len(state.dags) == 14 and max(len(runs) for runs in state.runs_by_dag.values()) == 2


def test_wrong_credentials_are_a_clear_error(live: LiveServer, tmp_path: Path) -> None:
    result = run_capture(live.url, tmp_path / "out", password="wrong")
    assert result.returncode == 1
    assert "refused the credentials of user 'admin' (401)" in result.stderr


def test_a_user_who_may_not_read_everything_is_told_so(live: LiveServer, tmp_path: Path) -> None:
    result = run_capture(live.url, tmp_path / "out", user="viewer", password="viewer")
    assert result.returncode == 1 and "(403)" in result.stderr and "Admin" in result.stderr


def test_an_unreachable_server_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_capture(f"http://127.0.0.1:{port}", tmp_path / "out")
    assert result.returncode == 1 and "cannot reach http://127.0.0.1" in result.stderr
