"""Every example in docs/ runs as written: Python blocks in order in one namespace, shell blocks
against a live server (curl fails the test on any HTTP error)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mockflow import Settings, create_app
from mockflow.server import LiveServer

DOCS = Path(__file__).resolve().parents[1] / "docs"
EXECUTED = ["control-api.md"]


def blocks(name: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", (DOCS / name).read_text(encoding="utf-8"), re.S)


@pytest.mark.parametrize("name", EXECUTED)
def test_python_examples_run_in_order(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = blocks(name, "python")
    assert code, f"{name} lost its Python examples"
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    for number, block in enumerate(code, 1):
        exec(compile(block, f"{name} (python block {number})", "exec"), namespace)
    app = namespace.get("app")
    if app is not None:  # the examples must not have made mockflow answer outside its spec
        assert not app.health.invalid_responses  # type: ignore[attr-defined]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize("name", EXECUTED)
def test_shell_examples_run_against_a_live_server(name: str, tmp_path: Path) -> None:
    script = blocks(name, "bash")
    assert script, f"{name} lost its shell examples"
    with LiveServer(create_app(Settings())) as server:
        prelude = 'set -euo pipefail\ncurl() { command curl --fail-with-body --max-time 10 "$@"; echo; }\n'
        env = {**os.environ, "MOCKFLOW": server.url}
        for number, block in enumerate(script, 1):
            done = subprocess.run(["bash", "-c", prelude + block], cwd=tmp_path, env=env, capture_output=True,
                                  text=True, timeout=60)
            assert done.returncode == 0, f"{name} shell block {number} failed:\n{block}\n{done.stdout}{done.stderr}"
