"""mockflow over HTTP against its floor: raw Starlette answering the very bytes mockflow answered.

    .venv/bin/python benchmarks/over_http.py [--seconds 5] [--rounds 3] [--write-seconds 60] [--default-set]

Starts `mockflow serve` (a 25-DAG set, or the embedded default) and the floor app, each with
asyncio/h11 and with uvloop/httptools, on free loopback ports; drives them with wrk (8
connections; a small httpx load generator when wrk is absent) in interleaved rounds and prints
the medians and ratios (cost per request: mockflow / floor, lower is better). Every mockflow
response is validated as usual. Then one connection POSTs and DELETEs a variable for
`--write-seconds`: latency percentiles and mockflow's resident memory growth. Targets (issue):
`/dags?limit=25` <= 1.5x the asyncio/h11 floor, the others < 1x; write p99 <= 2 ms.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# Run as a script, this file's folder leads sys.path, and its name would hide the standard `http`.
ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT), *(entry for entry in sys.path if Path(entry or ".").resolve() != ROOT / "benchmarks")]

import http.client  # noqa: E402

from benchmarks.bench import write_fixture_set  # noqa: E402
from benchmarks.http_load import Result, python_load, write_load, wrk_load  # noqa: E402

AUTH = "Basic " + base64.b64encode(b"admin:admin").decode()
PAIRS = {"asyncio/h11": ("asyncio", "h11"), "uvloop/httptools": ("uvloop", "httptools")}


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def rss_mb(self) -> float:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        found = re.search(r"VmRSS:\s+(\d+)", status)
        return int(found.group(1)) / 1024 if found else float("nan")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def get(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, str, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        headers = {"Authorization": AUTH, "Content-Type": "application/json"}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.getheader("content-type") or "", response.read()
    finally:
        connection.close()


def wait_ready(port: int, path: str, timeout: float = 30) -> float:
    """Seconds until `path` first answered 200 (polling with a bare socket client)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        try:
            if get(port, "GET", path)[0] == 200:
                return time.perf_counter() - started
        except OSError:
            time.sleep(0.005)
    raise SystemExit(f"nothing answered on port {port} within {timeout}s")


def start(name: str, command: list[str], port: int, ready_path: str) -> Server:
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    server = Server(name, process, port)
    wait_ready(port, ready_path)
    return server


def start_mockflow(pair: str, fixtures: list[str], gc_freeze: bool) -> Server:
    loop, parser = PAIRS[pair]
    port = free_port()
    # Virtual time: the 25 unpaused daily DAGs would otherwise catch up on their scheduled runs
    # and change the answers the floor replays; bench.py prints the simulation's per-request cost.
    command = [sys.executable, "-m", "mockflow", "serve", "--port", str(port), "--log-level", "warning",
               "--simulation", "virtual", "--loop", loop, "--http", parser,
               "--gc-freeze" if gc_freeze else "--no-gc-freeze",
               *(arg for fixture in fixtures for arg in ("--fixtures", fixture))]
    return start(f"mockflow {pair}", command, port, "/api/v1/health")


def start_floor(pair: str, answers: Path) -> Server:
    loop, parser = PAIRS[pair]
    port = free_port()
    command = [sys.executable, "-m", "benchmarks.http_floor", str(answers), str(port), loop, parser]
    return start(f"floor {pair}", command, port, "/api/v1/health")


def record_answers(port: int, paths: list[str], out: Path) -> None:
    """mockflow's answers to the read paths and to one write pair: the floor serves these bytes."""
    answers = []
    for path in paths:
        status, ctype, body = get(port, "GET", path)
        assert status == 200, (path, status, body[:200])
        answers.append({"method": "GET", "path": path.split("?")[0], "status": status, "type": ctype,
                        "body": body.decode()})
    status, ctype, body = get(port, "POST", "/api/v1/variables", b'{"key": "bench_probe", "value": "x"}')
    answers.append({"method": "POST", "path": "/api/v1/variables", "status": status, "type": ctype,
                    "body": body.decode()})
    status, ctype, body = get(port, "DELETE", "/api/v1/variables/bench_probe")
    answers.append({"method": "DELETE", "path": "/api/v1/variables/{key}", "status": status, "type": ctype,
                    "body": body.decode()})
    out.write_text(json.dumps(answers))


def read_paths(mockflow_port: int) -> list[str]:
    status, _, body = get(mockflow_port, "GET", "/api/v1/dags?limit=25")
    assert status == 200, body
    first = json.loads(body)["dags"][0]["dag_id"]
    return ["/api/v1/health", "/api/v1/pools", f"/api/v1/dags/{first}/details", "/api/v1/dags?limit=25"]


def load(url: str, seconds: float, connections: int) -> Result:
    if shutil.which("wrk"):
        return wrk_load(url, seconds, connections, AUTH)
    return python_load(url, seconds, connections, AUTH)


def read_table(servers: list[Server], paths: list[str], args: argparse.Namespace) -> None:
    tool = "wrk" if shutil.which("wrk") else "httpx load generator (install wrk for real figures)"
    print(f"{tool}, {args.connections} connections, {args.rounds} interleaved rounds of {args.seconds}s; "
          "requests/s medians, ratio = cost per request / the floor's\n")
    rps: dict[tuple[str, str], list[float]] = {(s.name, p): [] for s in servers for p in paths}
    for _ in range(args.rounds):
        for path in paths:
            for server in servers:
                result = load(server.url + path, args.seconds, args.connections)
                if result.errors:
                    raise SystemExit(f"{server.name} {path}: {result.errors} non-2xx answers or socket errors")
                rps[(server.name, path)].append(result.rps)
    names = [s.name for s in servers]
    print(f"{'requests/s':20}" + "".join(f"{name:>27}" for name in names))
    medians = {key: statistics.median(values) for key, values in rps.items()}
    for path in paths:
        print(f"{_label(path):20}" + "".join(f"{medians[(name, path)]:27.0f}" for name in names))
    print(f"\n{'ratio to the floor':20}{'mockflow fast / floor h11':>27}{'mockflow fast / floor fast':>27}"
          f"{'mockflow h11 / floor h11':>27}")
    for path in paths:
        fast, slow = medians[("mockflow uvloop/httptools", path)], medians[("mockflow asyncio/h11", path)]
        floor_slow, floor_fast = medians[("floor asyncio/h11", path)], medians[("floor uvloop/httptools", path)]
        print(f"{_label(path):20}{floor_slow / fast:27.2f}{floor_fast / fast:27.2f}{floor_slow / slow:27.2f}")


def _label(path: str) -> str:
    return re.sub(r"/dags/[^/?]+/details", "/dags/{id}/details", path.removeprefix("/api/v1"))


def write_run(server: Server, seconds: float) -> None:
    before = server.rss_mb()
    result = write_load(server.port, seconds, AUTH)
    after = server.rss_mb()
    print(f"{server.name:28} POST+DELETE a variable, 1 connection, {seconds:.0f}s: {result.rps:.0f} req/s, "
          f"p50 {result.p50_ms:.3f} ms, p99 {result.p99_ms:.3f} ms, {result.errors} errors; "
          f"RSS {before:.1f} -> {after:.1f} MB (+{after - before:.1f})")


def cold_start(times: int) -> None:
    """`mockflow serve` (the default set) start to first 200, with bytecode (and the parsed spec)
    cached by an untimed first start."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    measured, cpu = [], []
    for _ in range(times + 1):
        port = free_port()
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-m", "mockflow", "serve", "--port", str(port),
                                    "--log-level", "warning"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        wait_ready(port, "/api/v1/health")
        measured.append(time.perf_counter() - started)
        cpu.append(cpu_seconds(process.pid))
        process.terminate()
        process.wait(timeout=15)
    timed = measured[1:]
    print(f"mockflow serve, start to first 200: median {statistics.median(timed) * 1000:.0f} ms of {times} "
          f"(min {min(timed) * 1000:.0f} ms; the first start, caching bytecode: {measured[0] * 1000:.0f} ms); "
          f"CPU time of the server by then: median {statistics.median(cpu[1:]) * 1000:.0f} ms (what a shared "
          f"machine's load does not stretch)")


def cpu_seconds(pid: int) -> float:
    """User plus system time a process has used so far (fields 14 and 15 of /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one load run (default 5)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--write-seconds", type=float, default=60.0, help="0 skips the write run (default 60)")
    parser.add_argument("--default-set", action="store_true", help="serve the embedded default set, not 25 DAGs")
    parser.add_argument("--skip-reads", action="store_true")
    parser.add_argument("--gc-freeze", action=argparse.BooleanOptionalAction, default=True,
                        help="serve mockflow with --gc-freeze (the default) or --no-gc-freeze")
    parser.add_argument("--cold-starts", type=int, default=5, help="0 skips the cold-start figure (default 5)")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus")
    with tempfile.TemporaryDirectory() as tmp:
        fixtures: list[str] = []
        if not args.default_set:
            write_fixture_set(Path(tmp) / "bench", 25)
            fixtures = [str(Path(tmp) / "bench")]
        run(args, fixtures, Path(tmp) / "answers.json")
    if args.cold_starts:
        cold_start(args.cold_starts)


def run(args: argparse.Namespace, fixtures: list[str], answers: Path) -> None:
    servers: list[Server] = []
    try:
        for pair in PAIRS:
            servers.append(start_mockflow(pair, fixtures, args.gc_freeze))
        paths = read_paths(servers[0].port)
        record_answers(servers[0].port, paths, answers)
        for pair in PAIRS:
            servers.append(start_floor(pair, answers))
        if not args.skip_reads:
            read_table(servers, paths, args)
        if args.write_seconds:
            print()
            for server in (servers[1], servers[3]):  # mockflow and the floor, uvloop/httptools
                write_run(server, args.write_seconds)
    finally:
        for server in servers:
            server.stop()


if __name__ == "__main__":
    main()
