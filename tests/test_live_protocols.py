"""The live server over both HTTP parsers and both event loops: the pure-Python pair stays working
beside uvloop/httptools, which `auto` picks where they are installed."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import sys

import httpx
import pytest

from mockflow.server import LiveServer, ServerError, uvicorn_config
from tests.conftest import MINIMAL, build_app
from tests.test_cli import ROOT, _free_port, _wait_for

pytestmark = pytest.mark.slow
FAST_PAIR = importlib.util.find_spec("uvloop") is not None and importlib.util.find_spec("httptools") is not None


@pytest.mark.parametrize(("http", "loop", "expected"), [
    ("h11", "asyncio", ("H11Protocol", "_UnixSelectorEventLoop")),
    pytest.param("httptools", "uvloop", ("HttpToolsProtocol", "Loop"),
                 marks=pytest.mark.skipif(not FAST_PAIR, reason="uvloop/httptools not installed here")),
    pytest.param("auto", "auto", ("HttpToolsProtocol", "Loop"),
                 marks=pytest.mark.skipif(not FAST_PAIR, reason="uvloop/httptools not installed here")),
])
def test_live_server_answers_with_each_pair(http: str, loop: str, expected: tuple[str, str]) -> None:
    with LiveServer(build_app(MINIMAL), http=http, loop=loop) as server:
        assert server.protocols == expected
        with httpx.Client(base_url=server.url, auth=("admin", "admin"), timeout=5) as client:
            assert client.get("/api/v1/health").status_code == 200
            created = client.post("/api/v1/variables", json={"key": "k", "value": "v"})
            assert created.status_code == 200
            assert client.delete("/api/v1/variables/k").status_code == 204
            assert client.request("PATCH", "/api/v1/version").status_code == 405
            assert client.get("/api/v1/nope").status_code == 404


def test_an_unknown_choice_is_refused_before_serving() -> None:
    with pytest.raises(ServerError, match="unknown http"):
        uvicorn_config(build_app(MINIMAL), host="127.0.0.1", port=0, log_level="warning", http="h2")


def test_serve_passes_the_pure_python_pair_to_uvicorn() -> None:
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "mockflow", "serve", "--port", str(port), "--http", "h11",
                                "--loop", "asyncio", "--fixtures", str(MINIMAL)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert _wait_for(f"http://127.0.0.1:{port}/api/v1/health").status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
    assert process.returncode == 0
