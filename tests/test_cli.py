"""`mockflow serve` as a user runs it, and the settings it reads."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from mockflow.settings import Settings
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
    ({"MOCKFLOW_AUTH": "kerberos"}, "auth must be one of basic, none, deny"),
    ({"MOCKFLOW_VALIDATION": "fast"}, "validation must be one of"),
    ({"MOCKFLOW_EXPOSE_CONFIG": "maybe"}, "MOCKFLOW_EXPOSE_CONFIG must be true or false"),
    ({"MOCKFLOW_PORT": "70000"}, "port must be between 0 and 65535"),
])
def test_bad_settings_say_what_is_wrong(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Settings.from_env(env)
