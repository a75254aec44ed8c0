"""Load for benchmarks/over_http.py: wrk where installed, else a small httpx generator; and the write
run, timed request by request on one kept-alive connection."""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import statistics
import subprocess
import time
from dataclasses import dataclass

import httpx

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx answers and socket errors


def wrk_load(url: str, seconds: float, connections: int, auth: str) -> Result:
    # wrk's 2 s timeout counts slow answers as socket errors; on a loaded machine that ends the run.
    command = ["wrk", f"-t{min(2, connections)}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
               "--timeout", "10s", "-H", f"Authorization: {auth}", url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    return Result(rps=float(_find(r"Requests/sec:\s+([\d.]+)", out)), p50_ms=_latency(out, "50%"),
                  p99_ms=_latency(out, "99%"), errors=_errors(out))


def _find(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    if found is None:
        raise SystemExit(f"wrk said something unexpected:\n{text}")
    return found.group(1)


def _latency(out: str, percentile: str) -> float:
    value = _find(rf"{percentile}\s+([\d.]+(?:us|ms|s))", out)
    unit = value.lstrip("0123456789.")
    return float(value.removesuffix(unit)) * UNITS_MS[unit]


def _errors(out: str) -> int:
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return (int(non_2xx.group(1)) if non_2xx else 0) + (sum(map(int, socket_errors.groups())) if socket_errors else 0)


def write_load(port: int, seconds: float, auth: str) -> Result:
    """POST a new variable, then DELETE it, for `seconds`, each request timed on its own (wrk's
    latencies with a request script do not add up to its run time on one connection)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": auth, "Content-Type": "application/json"}
    timings: list[float] = []
    errors = number = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        number += 1
        key = f"bench_{number}"
        for method, path, body in (("POST", "/api/v1/variables", json.dumps({"key": key, "value": "x"})),
                                   ("DELETE", f"/api/v1/variables/{key}", None)):
            sent = time.perf_counter()
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            timings.append(time.perf_counter() - sent)
            errors += not 200 <= response.status < 300
    connection.close()
    return _result(timings, time.perf_counter() - started, errors)


def python_load(url: str, seconds: float, connections: int, auth: str) -> Result:
    """`connections` clients, one connection each, GETting as fast as they can for `seconds`.
    Much slower than wrk: a stand-in only."""
    return asyncio.run(_python_load(url, seconds, connections, auth))


async def _python_load(url: str, seconds: float, connections: int, auth: str) -> Result:
    deadline = time.perf_counter() + seconds
    timings: list[float] = []
    errors = [0]

    async def client() -> None:
        async with httpx.AsyncClient(headers={"Authorization": auth}, timeout=5) as http:
            while time.perf_counter() < deadline:
                sent = time.perf_counter()
                response = await http.get(url)
                timings.append(time.perf_counter() - sent)
                errors[0] += not 200 <= response.status_code < 300

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(connections)))
    return _result(timings, time.perf_counter() - started, errors[0])


def _result(timings: list[float], elapsed: float, errors: int) -> Result:
    ordered = sorted(timings)
    return Result(rps=len(ordered) / elapsed, p50_ms=statistics.median(ordered) * 1000,
                  p99_ms=ordered[max(int(len(ordered) * 0.99) - 1, 0)] * 1000, errors=errors)
