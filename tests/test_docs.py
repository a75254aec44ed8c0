"""Every example in README.md and docs/ runs as written, or is on a list with the reason it is not.

Python blocks run in order in one namespace; shell blocks run with bash against a live server
(curl fails the test on any HTTP error); `console` blocks are transcripts whose `$ ` lines are run
and whose other lines must be the output, exactly. README's examples name the dev server's
address (`http://127.0.0.1:8080`) and `.venv/bin/`: the runner points them at a live server and
at this interpreter's environment. `test_every_block_is_run_or_reasoned` keeps the inventory:
a new block fails it until a runner or a reason claims it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path

import httpx
import jsonschema_rs
import pytest
import yaml

from mockflow import Settings, create_app
from mockflow.cli import SETTING_FLAGS
from mockflow.fixtureset.schemas import TASK_MOCK
from mockflow.server import LiveServer
from mockflow.settings import env_name

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
VENV_BIN = Path(sys.executable).parent
DEV_SERVER = "http://127.0.0.1:8080"
SHARED_CONFORMANCE = ROOT.parent / "shared" / "conformance"
CURL = 'set -euo pipefail\ncurl() { command curl --fail-with-body --silent --show-error --max-time 10 "$@"; echo; }\n'


@dataclass(frozen=True, slots=True)
class Block:
    document: str  # "README.md", "docs/fixtures.md"
    number: int  # 1-based, among all the fenced blocks of the document
    info: str  # the info string: python, bash, console, text, ...
    text: str

    @property
    def first_line(self) -> str:
        return self.text.strip().splitlines()[0] if self.text.strip() else ""


def fenced_blocks(path: Path) -> list[Block]:
    found: list[Block] = []
    info: str | None = None
    lines: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if info is None and line.startswith("```"):
            info, lines = line[3:].strip(), []
        elif info is not None and line.rstrip() == "```":
            found.append(Block(str(path.relative_to(ROOT)), len(found) + 1, info, "\n".join(lines) + "\n"))
            info = None
        elif info is not None:
            lines.append(line)
    assert info is None, f"{path.name}: a fenced block is never closed"
    return found


def documents() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def all_blocks() -> list[Block]:
    return [block for path in documents() for block in fenced_blocks(path)]


def blocks(document: str, info: str) -> list[Block]:
    return [block for block in fenced_blocks(ROOT / document) if block.info == info]


# --- the inventory: who runs each block ---------------------------------------------------------

HERE = "tests/test_docs.py"
# (document, first line of the block) -> why the suite does not run it
NOT_RUN: dict[tuple[str, str], str] = {
    ("README.md", "# 1. install and start the dev server with its embedded default data "
                  "(http://127.0.0.1:8080/api/v1, user admin / admin)"):
        "installs the package and runs this whole suite: the environment the suite runs in is made so",
    ("docs/benchmarks.md", ".venv/bin/python benchmarks/bench.py            # latency, journal/fault cost, "
                           "reset, simulation, app build, cold start"):
        "minutes of load on a shared machine; speed targets live in benchmarks/, not in the suite",
    ("docs/benchmarks.md", "apt-get install wrk                           # without it, a slower httpx load "
                           "generator stands in"):
        "installs a system package",
    ("docs/fixtures.md", "my-set/"): "a directory layout, not a command",
}


def owner(block: Block) -> str:
    """The test file that runs this block, or `not run: <reason>`; an unclaimed block fails."""
    reason = NOT_RUN.get((block.document, block.first_line))
    if reason is not None:
        return f"not run: {reason}"
    name = block.document
    if name == "docs/container.md":
        return "tests/test_container.py"  # docker commands are the container work's to run
    if block.info == "python":
        if name == "README.md":
            return "tests/test_plugin.py" if block.number == first_python(name) else HERE
        return {"docs/pytest.md": "tests/test_plugin.py", "docs/simulation.md": "tests/test_simulation.py",
                "docs/control-api.md": HERE}.get(name, "unclaimed")
    if name == "docs/fuzzing.md" and "schemathesis run" in block.text:
        return "tests/test_schemathesis.py"  # the same command, fewer examples, in-process
    if block.info in ("bash", "console"):
        return HERE  # every document's: run against a live server, or compared with its output
    if (name, block.info) in (("README.md", "js"), ("README.md", "yaml"), ("docs/simulation.md", "yaml")):
        return HERE
    if block.info == "text":
        # README's is the serve banner, compared below; pytest.md's a failure report test_plugin.py matches
        return {"README.md": HERE, "docs/pytest.md": "tests/test_plugin.py"}.get(name, "unclaimed")
    return "unclaimed"


def first_python(document: str) -> int:
    return next(block.number for block in fenced_blocks(ROOT / document) if block.info == "python")


def test_every_block_is_run_or_reasoned() -> None:
    claimed = {(block.document, block.number): owner(block) for block in all_blocks()}
    unclaimed = [key for key, who in claimed.items() if who == "unclaimed"]
    assert not unclaimed, f"fenced blocks no test runs and no reason excuses: {unclaimed}"
    for (document, _), who in claimed.items():
        if who.startswith("tests/") and who != HERE:
            test = ROOT / who
            assert test.is_file(), f"{document}: its runner {who} does not exist"
            if who != "tests/test_container.py":  # the container work's own test, whatever it reads
                assert Path(document).name in test.read_text(encoding="utf-8"), f"{who} does not read {document}"
    # a reason for a block that is gone is a stale excuse
    present = {(block.document, block.first_line) for block in all_blocks()}
    assert set(NOT_RUN) <= present, set(NOT_RUN) - present


def test_the_readme_keeps_its_order_and_links() -> None:
    text = README.read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", text, re.M)
    order = ["Run it", "Use it from pytest", "Use it from Python, without pytest",
             "Use it from any language, over HTTP", "Use it in CI", "Further reading"]
    assert headings[: len(order)] == order
    first = fenced_blocks(README)[0].text.splitlines()
    assert first[1].endswith("&& .venv/bin/mockflow serve") and first[3].endswith("&& .venv/bin/python -m pytest")
    for doc in ("fixtures", "control-api", "simulation", "differences", "benchmarks", "container"):
        assert f"(docs/{doc}.md)" in text, f"README does not link docs/{doc}.md"
    for linked in re.findall(r"\]\((docs/[\w-]+\.md)", text):
        assert (ROOT / linked).is_file() or linked == "docs/container.md", f"README links a missing {linked}"


# --- the settings table ---------------------------------------------------------------------------

def _table_rows() -> dict[str, list[str]]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Settings"):]
    section = section[: section.index("\n## ", 4)]
    rows: dict[str, list[str]] = {}
    for line in section.splitlines():
        cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]]
        variable = re.search(r"`(MOCKFLOW_\w+)`", cells[1]) if len(cells) == 4 else None
        if variable:
            rows[variable.group(1)] = cells
    return rows


def _shown_default(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if value is None:
        return "none"
    return f"`{value:g}`" if isinstance(value, float) else f"`{value}`"


def test_the_settings_table_lists_every_setting_with_flag_variable_and_default() -> None:
    rows = _table_rows()
    names = [field.name for field in fields(Settings)]
    assert set(rows) == {env_name(name) for name in names}, "README's settings table and Settings differ"
    defaults = Settings()
    for name in names:
        flag, _, default, meaning = rows[env_name(name)]
        assert flag.startswith(f"`{SETTING_FLAGS[name]}"), (name, flag)
        assert meaning, name
        value = getattr(defaults, name)
        if name == "fixtures":
            assert default == "the embedded default set"
        elif name == "simulation":
            assert default.startswith("`real` for `serve`, `virtual` in Python") and value == "virtual"
        else:
            assert default.startswith(_shown_default(value)), (name, default, value)


# --- Python ------------------------------------------------------------------------------------------

def _run_python(document: str, code: list[Block]) -> None:
    namespace: dict[str, object] = {}
    for block in code:
        exec(compile(block.text, f"{document} (block {block.number})", "exec"), namespace)
    app = namespace.get("app")
    if app is not None:  # the examples must not have made mockflow answer outside its spec
        assert not app.health.invalid_responses  # type: ignore[attr-defined]


@pytest.mark.parametrize("document", ["README.md", "docs/control-api.md"])
def test_python_examples_run_in_order(document: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = [block for block in blocks(document, "python") if owner(block) == HERE]
    assert code, f"{document} lost its Python examples"
    monkeypatch.chdir(tmp_path)
    _run_python(document, code)


# --- shell, against a live server --------------------------------------------------------------------

def _as_here(script: str, url: str | None = None) -> str:
    """README's commands, pointed at this environment's executables and at the live server."""
    script = script.replace(".venv/bin/", f"{VENV_BIN}/")
    return script.replace(DEV_SERVER, url) if url else script


def _bash(script: str, cwd: Path, timeout: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    path = f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    return subprocess.run(["bash", "-c", script], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PATH": path, **env})


@pytest.fixture(scope="module")
def live() -> Iterator[LiveServer]:
    with LiveServer(create_app(Settings())) as server:
        yield server


def _dedicated(block: Block) -> bool:
    """The shell blocks a test of their own runs (below), rather than the live-server runner."""
    if block.document == "README.md":
        return "../shared/conformance" in block.text or "mockflow serve --fixtures default" in block.first_line
    return block.document == "docs/fuzzing.md" and "differences_section" in block.text


def _shell_blocks(document: str) -> list[Block]:
    return [block for block in blocks(document, "bash") if owner(block) == HERE and not _dedicated(block)]


SHELL_DOCUMENTS = [str(path.relative_to(ROOT)) for path in documents() if _shell_blocks(str(path.relative_to(ROOT)))]


def test_the_shell_runner_covers_the_documents_it_should() -> None:
    assert {"README.md", "docs/control-api.md"} <= set(SHELL_DOCUMENTS)


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
@pytest.mark.parametrize("document", SHELL_DOCUMENTS)
def test_shell_examples_run_against_a_live_server(document: str, live: LiveServer, tmp_path: Path) -> None:
    script = _shell_blocks(document)
    assert script, f"{document} lost its shell examples"
    for block in script:
        done = _bash(CURL + _as_here(block.text, live.url), tmp_path, MOCKFLOW=live.url)
        assert done.returncode == 0, f"{document} block {block.number}:\n{block.text}\n{done.stdout}{done.stderr}"


@pytest.mark.slow
def test_the_readme_serve_command_prints_the_documented_banner(tmp_path: Path) -> None:
    [prepare] = [block for block in _shell_blocks("README.md") if "my_fixtures" in block.text]
    assert _bash(_as_here(prepare.text), tmp_path).returncode == 0
    [serve] = [block for block in blocks("README.md", "bash")
               if _dedicated(block) and "mockflow serve --fixtures default" in block.first_line]
    command = _as_here(serve.first_line.split("#")[0]).split()
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen([*command, "--port", "0"], cwd=tmp_path, stdout=output, stderr=subprocess.STDOUT)
    try:
        banner = _wait_for_banner(log, process)
    finally:
        process.terminate()
        process.wait(15)
    [documented] = [block for block in blocks("README.md", "text") if block.first_line.startswith("mockflow ")]
    shown = re.sub(r"http://127\.0\.0\.1:\d+", DEV_SERVER, banner)
    assert shown == documented.text.rstrip("\n")


def _wait_for_banner(log: Path, process: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        lines = log.read_text().splitlines()
        starts = [index for index, line in enumerate(lines) if line.startswith("mockflow ")]
        if starts and any(line.startswith("  simulation:") for line in lines[starts[0]:]):
            block = lines[starts[0]:]
            return "\n".join(block[: next(i for i, line in enumerate(block) if line.startswith("  simulation:")) + 1])
        assert process.poll() is None, log.read_text()
        time.sleep(0.05)
    raise AssertionError(log.read_text())


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
@pytest.mark.skipif(not SHARED_CONFORMANCE.is_dir(), reason="../shared/conformance is not here")
@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_readme_conformance_command_works_as_written() -> None:
    [block] = [block for block in blocks("README.md", "bash") if "../shared/conformance" in block.text]
    script = _as_here(block.text).replace("18181", str(_free_port()))  # the port may be in use on a shared machine
    # the example leaves the server to `kill %1`; should a line fail first, the trap stops it
    done = _bash("set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n" + script, ROOT, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(r"^conformance: \d+/\d+ steps match", done.stdout, re.M), done.stdout[-3000:]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed: the README's Node.js example")
def test_the_readme_node_example_runs_against_a_live_server(live: LiveServer, tmp_path: Path) -> None:
    [block] = blocks("README.md", "js")
    name = block.first_line.removeprefix("// ").strip()
    assert name == "airflow.mjs"
    (tmp_path / name).write_text(_as_here(block.text, live.url))
    done = subprocess.run(["node", name], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip() == "node-1 success"
    # it reset the mock at the end: the run it made is gone
    assert httpx.get(f"{live.url}/api/v1/dags/ingest_orders/dagRuns/node-1", auth=("admin", "admin")).status_code == 404


def test_the_readme_ci_steps_are_valid_shell_with_valid_settings() -> None:
    """They install from the package index and run a user's own suite, which the suite cannot;
    what it can check is that each step parses as shell and that every setting it gives is accepted."""
    [block] = blocks("README.md", "yaml")
    steps = yaml.safe_load(block.text)
    assert steps and all(set(step) == {"run"} for step in steps)
    for step in steps:
        assert subprocess.run(["bash", "-n", "-c", step["run"]], capture_output=True).returncode == 0, step
    given = dict(re.findall(r"\b(MOCKFLOW_\w+)=(\S+)", block.text))
    assert given and Settings.from_env(given).log_format == "json"


# --- the other documents ----------------------------------------------------------------------------

def test_console_transcripts_print_what_they_show(tmp_path: Path) -> None:
    transcripts = [block for path in documents() for block in fenced_blocks(path) if block.info == "console"]
    assert transcripts, "the docs lost their transcripts"
    for block in transcripts:
        lines = block.text.rstrip("\n").splitlines()
        commands = [line[2:] for line in lines if line.startswith("$ ")]
        expected = "\n".join(line for line in lines if not line.startswith("$ "))
        workdir = tmp_path / f"{Path(block.document).stem}-{block.number}"
        workdir.mkdir()
        done = _bash("\n".join(commands), workdir)  # exit codes are the transcript's business
        assert (done.stdout + done.stderr).rstrip("\n") == expected, f"{block.document} block {block.number}"


def test_the_fuzzing_doc_refresh_command_leaves_a_current_differences_md_unchanged(tmp_path: Path) -> None:
    [block] = [block for block in blocks("docs/fuzzing.md", "bash") if "differences_section" in block.text]
    (tmp_path / "docs").mkdir()
    shutil.copy(DOCS / "differences.md", tmp_path / "docs" / "differences.md")
    done = _bash(_as_here(block.text), tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "docs" / "differences.md").read_text() == (DOCS / "differences.md").read_text()


def test_the_simulation_docs_yaml_is_a_valid_task_script() -> None:
    [block] = blocks("docs/simulation.md", "yaml")
    task = yaml.safe_load(block.text)["tasks"][0]
    validator = jsonschema_rs.Draft4Validator(TASK_MOCK)
    assert validator.is_valid(task["x-mockflow"]), list(validator.iter_errors(task["x-mockflow"]))
    assert json.dumps(task)  # plain data, as a fixture file holds it
