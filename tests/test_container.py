"""The container image. Always: the Dockerfile's own CMD and HEALTHCHECK, read from the file, run as
subprocesses with the image's environment. With a Docker engine (`.ci/run` starts one when it can and
sets MOCKFLOW_DOCKER_TEST=1): the real Dockerfile built offline on a debootstrapped Debian base, run,
healthy, answering API and control calls, and stopped by `docker stop`. docs/container.md is checked
against Settings, so its examples cannot drift to variables mockflow does not read."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from mockflow import Settings

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
DOCS = ROOT / "docs" / "container.md"
KNOWN_VARIABLES = {f"MOCKFLOW_{field.name.upper()}" for field in dataclasses.fields(Settings)}
ENGINE_REQUIRED = os.environ.get("MOCKFLOW_DOCKER_TEST") == "1"
BASE_IMAGE = os.environ.get("MOCKFLOW_DOCKER_BASE", "mockflow-base:bookworm")
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "mockflow"
CONTROL_TOKEN = "container-test-token"


@dataclasses.dataclass(frozen=True)
class FinalStage:
    """What the Dockerfile's last stage declares about the running container."""

    env: dict[str, str]
    user: str
    command: list[str]  # ENTRYPOINT + CMD, exec form
    healthcheck: str  # shell form, run by /bin/sh -c as the engine does
    copied: dict[str, str]  # destination -> source of each COPY --from
    stages_copied_from: tuple[str, ...]


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in text.splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    pairs = []
    for line in logical:
        keyword, _, rest = line.strip().partition(" ")
        pairs.append((keyword.upper(), rest.strip()))
    return pairs


def final_stage(text: str) -> FinalStage:
    pairs = instructions(text)
    last_from = max(index for index, (keyword, _) in enumerate(pairs) if keyword == "FROM")
    env: dict[str, str] = {}
    user, entrypoint, cmd, healthcheck, copied, stages = "root", [], [], "", {}, []
    for keyword, rest in pairs[last_from + 1:]:
        if keyword == "ENV":
            for pair in shlex.split(rest):
                name, _, value = pair.partition("=")
                env[name] = value
        elif keyword == "USER":
            user = rest
        elif keyword == "ENTRYPOINT":
            entrypoint = json.loads(rest)
        elif keyword == "CMD":
            cmd = json.loads(rest)
        elif keyword == "HEALTHCHECK":
            healthcheck = re.sub(r"^(--\S+\s+)*CMD\s+", "", rest)
        elif keyword == "COPY" and rest.startswith("--from="):
            stage, source, destination = rest.split()
            copied[destination] = source
            stages.append(stage.removeprefix("--from="))
    return FinalStage(env=env, user=user, command=entrypoint + cmd, healthcheck=healthcheck, copied=copied,
                      stages_copied_from=tuple(stages))


IMAGE = final_stage(DOCKERFILE.read_text(encoding="utf-8"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def image_environment(**overrides: str) -> dict[str, str]:
    """The image's ENV on this machine: the test's virtualenv stands in for the installed one the image
    copies from its build stage, $PATH expands to this process's PATH, no MOCKFLOW_* leaks in from outside."""
    outside = {name: value for name, value in os.environ.items() if not name.startswith("MOCKFLOW_")}
    env = dict(outside)
    for name, value in IMAGE.env.items():
        for installed in IMAGE.copied:
            value = value.replace(installed, sys.prefix)
        env[name] = value.replace("$PATH", outside.get("PATH", ""))
    env.update(overrides)
    return env


def healthcheck(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["/bin/sh", "-c", IMAGE.healthcheck], env=env, capture_output=True, text=True,
                          timeout=30)


def wait_healthy(env: dict[str, str], process: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while healthcheck(env).returncode != 0:
        assert process.poll() is None, f"the server exited early:\n{process.communicate()[0]}"
        assert time.monotonic() < deadline, "the health check never passed"
        time.sleep(0.2)


def test_the_image_runs_as_a_non_root_user() -> None:
    assert IMAGE.user.split(":")[0] not in ("", "root", "0")


def test_the_image_is_configured_only_by_mockflow_variables() -> None:
    mockflow_names = {name for name in IMAGE.env if name.startswith("MOCKFLOW_")}
    assert mockflow_names <= KNOWN_VARIABLES
    assert "MOCKFLOW_PORT" in mockflow_names and "MOCKFLOW_HOST" in mockflow_names
    # no flags baked into the command line: a flag would beat the variable a user sets
    assert not [word for word in IMAGE.command if word.startswith("-")], IMAGE.command


def test_the_images_command_serves_follows_its_port_and_stops_cleanly_on_sigterm() -> None:
    port = free_port()
    env = image_environment(MOCKFLOW_PORT=str(port))
    assert healthcheck(env).returncode != 0, "the health check passed with no server running"
    process = subprocess.Popen(IMAGE.command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_healthy(env, process)
        # the check follows MOCKFLOW_PORT: pointed at a port nothing listens on, it fails
        assert healthcheck({**env, "MOCKFLOW_PORT": str(free_port())}).returncode != 0
        answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/dags", auth=("admin", "admin"), timeout=10)
        assert answer.status_code == 200 and answer.json()["total_entries"] > 0
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, output


# --- docs/container.md: the examples use only variables mockflow reads ---


def yaml_blocks() -> list[Any]:
    text = DOCS.read_text(encoding="utf-8")
    return [yaml.safe_load(block) for block in re.findall(r"```ya?ml\n(.*?)```", text, re.S)]


def compose_file() -> dict[str, Any]:
    found = [block for block in yaml_blocks() if isinstance(block, dict) and "services" in block
             and "jobs" not in block]
    assert len(found) == 1, "docs/container.md should hold one docker compose file"
    compose: dict[str, Any] = found[0]
    return compose


def environment_names(value: Any) -> set[str]:
    """Every variable name under an `environment:` or `env:` key, in mapping or list form."""
    names: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key in ("environment", "env"):
                items = inner.keys() if isinstance(inner, dict) else (item.split("=")[0] for item in inner)
                names.update(str(item) for item in items)
            names |= environment_names(inner)
    elif isinstance(value, list):
        for inner in value:
            names |= environment_names(inner)
    return names


def test_the_compose_file_runs_mockflow_and_a_client_that_waits_for_its_health() -> None:
    services = compose_file()["services"]
    (server,) = [name for name, service in services.items() if "mockflow" in str(service.get("image", ""))]
    clients = [service for name, service in services.items() if name != server]
    assert clients, "the compose example needs a client container"
    for client in clients:  # a client that starts before mockflow answers would fail at random
        assert client["depends_on"][server]["condition"] == "service_healthy"
    assert {name for name in environment_names(services[server]) if name.startswith("MOCKFLOW_")} <= KNOWN_VARIABLES


def test_every_mockflow_variable_the_docs_name_is_a_setting() -> None:
    text = DOCS.read_text(encoding="utf-8")
    named = set(re.findall(r"\bMOCKFLOW_[A-Z_]+\b", text)) - {"MOCKFLOW_DOCKER_TEST", "MOCKFLOW_DOCKER_BASE"}
    assert named, "docs/container.md names no MOCKFLOW_* variable"
    assert named <= KNOWN_VARIABLES, sorted(named - KNOWN_VARIABLES)
    for block in yaml_blocks():
        names = {name for name in environment_names(block) if name.startswith("MOCKFLOW_")}
        assert names <= KNOWN_VARIABLES, sorted(names - KNOWN_VARIABLES)


# --- the real image, on a real engine ---


def docker(*args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done


def engine_missing() -> str | None:
    """Why there is no engine to test against, or None when `docker info` answers."""
    if shutil.which("docker") is None:
        return "no docker CLI on PATH"
    try:
        done = docker("info", "--format", "{{.ServerVersion}}", timeout=30, check=False)
    except subprocess.TimeoutExpired:
        return "docker info timed out"
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines()
        return lines[-1] if lines else f"docker info exited {done.returncode}"
    return None


def unavailable(reason: str) -> None:
    """Skip, unless CI said it started an engine: then a missing piece is a failure, not a skip."""
    if ENGINE_REQUIRED:
        pytest.fail(f"MOCKFLOW_DOCKER_TEST=1 but {reason}")
    pytest.skip(reason)


def ensure_base() -> None:
    """An offline base image: the cached one, else one imported from the cached rootfs tarball, else a fresh
    `debootstrap` of Debian bookworm with python3 and its venv module (a few minutes; root only)."""
    if docker("image", "inspect", BASE_IMAGE, check=False).returncode == 0:
        return
    tarball = CACHE / "base-bookworm-python3.tar.gz"
    if not tarball.exists():
        if shutil.which("debootstrap") is None or os.geteuid() != 0:
            unavailable(f"no base image {BASE_IMAGE}, no cached {tarball}, and no debootstrap to make one as root")
        make_base_tarball(tarball)
    docker("import", str(tarball), BASE_IMAGE, timeout=600)


def make_base_tarball(tarball: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="mockflow-rootfs-") as scratch:
        root = Path(scratch) / "root"
        subprocess.run(["debootstrap", "--variant=minbase", "--include=python3,python3-venv", "bookworm", str(root),
                        os.environ.get("MOCKFLOW_DEBIAN_MIRROR", "http://deb.debian.org/debian")],
                       check=True, capture_output=True, timeout=1800)
        # what a container never reads: downloaded packages, package lists, documentation
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/doc", "usr/share/man",
                     "usr/share/info", "usr/share/locale"):
            shutil.rmtree(root / junk, ignore_errors=True)
        tarball.parent.mkdir(parents=True, exist_ok=True)
        partial = tarball.with_suffix(".partial")
        subprocess.run(["tar", "-C", str(root), "-czf", str(partial), "."], check=True, timeout=600)
        partial.rename(tarball)


def wheelhouse() -> Path:
    """Every dependency, and what builds mockflow, as wheels, so the build needs no network; cached per
    pyproject.toml. mockflow itself is not among them: the image builds it from the source."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wanted = [*pyproject["project"]["dependencies"], *pyproject["build-system"]["requires"]]
    key = hashlib.sha256("\n".join(wanted).encode()).hexdigest()[:12]
    cached = CACHE / f"wheelhouse-{key}"
    if not cached.exists():
        partial = CACHE / f"wheelhouse-{key}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--wheel-dir", str(partial), *wanted],
                       check=True, capture_output=True, timeout=900)
        partial.rename(cached)
    return cached


def build_context(into: Path) -> Path:
    """The checkout (its .dockerignore does the filtering) plus the wheelhouse."""
    context = into / "context"
    shutil.copytree(ROOT, context, ignore=shutil.ignore_patterns(".venv", ".git", "*.egg-info", "build", "dist",
                                                                  "wheelhouse", ".*_cache", ".hypothesis"))
    shutil.copytree(wheelhouse(), context / "wheelhouse")
    return context


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    reason = engine_missing()
    if reason is not None:
        unavailable(f"no Docker engine reachable ({reason})")
    ensure_base()
    tag = f"mockflow:container-test-{os.getpid()}"
    context = build_context(tmp_path_factory.mktemp("docker"))
    options = ["--quiet", "--build-arg", f"BASE={BASE_IMAGE}",
               "--build-arg", "PIP_OPTIONS=--no-index --find-links=wheelhouse"]
    # The build stages get tags of their own (the full build then reuses them from the cache), so that
    # removing the tags removes them too: untagged, each run would leave some 230 MB behind.
    tags = [f"{tag}-{stage}" for stage in IMAGE.stages_copied_from]
    try:
        for stage, stage_tag in zip(IMAGE.stages_copied_from, tags, strict=True):
            docker("build", *options, "--target", stage, "--tag", stage_tag, str(context), timeout=1200)
        docker("build", *options, "--tag", tag, str(context), timeout=1200)
        yield tag
    finally:
        docker("image", "rm", "--force", tag, *tags, check=False)


def health_status(container: str) -> str:
    state = json.loads(docker("inspect", "--format", "{{json .State}}", container).stdout)
    return str(state.get("Health", {}).get("Status", "none")) if state["Running"] else "exited"


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.mark.slow
def test_the_built_image_gets_healthy_serves_guards_control_and_stops_on_sigterm(image: str) -> None:
    name = f"mockflow-container-test-{os.getpid()}"
    docker("run", "--detach", "--name", name, "--publish", "127.0.0.1::9090", "--env", "MOCKFLOW_PORT=9090",
           "--env", f"MOCKFLOW_CONTROL_TOKEN={CONTROL_TOKEN}", image)
    try:
        deadline = time.monotonic() + 120
        while (status := health_status(name)) != "healthy":
            assert status in ("starting", "unhealthy") and time.monotonic() < deadline, (
                f"health {status}:\n{docker('logs', name, check=False).stdout}")
            time.sleep(0.25)
        assert docker("exec", name, "id", "-u").stdout.strip() == IMAGE.user.split(":")[0]
        host, port = docker("port", name, "9090/tcp").stdout.splitlines()[0].rsplit(":", 1)
        check_api_and_control(f"http://{host}:{port}")
        docker("stop", "--time", "30", name, timeout=60)
        state = json.loads(docker("inspect", "--format", "{{json .State}}", name).stdout)
        # 0, not 137: SIGTERM stopped it, the engine never had to kill it
        assert (state["ExitCode"], state["OOMKilled"]) == (0, False), docker("logs", name, check=False).stderr
    finally:
        docker("rm", "--force", name, check=False)


def check_api_and_control(url: str) -> None:
    with httpx.Client(base_url=url, timeout=10, headers=basic("admin", "admin")) as client:
        dags = client.get("/api/v1/dags")
        assert dags.status_code == 200 and dags.json()["total_entries"] > 0
        assert client.post("/api/v1/pools", json={"name": "from-the-test", "slots": 3}).status_code == 200
        for wrong in ({}, {"X-Mockflow-Token": "wrong"}):  # no token, then a wrong one
            refused = client.post("/_mockflow/reset", headers=wrong)
            assert refused.status_code == 401 and refused.headers["content-type"] == "application/problem+json"
            assert refused.json()["title"] == "Control token required"
        assert client.get("/api/v1/pools/from-the-test").status_code == 200  # the refused reset changed nothing
        reset = client.post("/_mockflow/reset", headers={"X-Mockflow-Token": CONTROL_TOKEN})
        assert reset.status_code == 200 and "store" in reset.json()["reset"]
        assert client.get("/api/v1/pools/from-the-test").status_code == 404
