"""Load generators for benchmarks/http.py: wrk where installed, else a small httpx one."""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx answers and socket errors


def wrk_load(url: str, seconds: float, connections: int, auth: str, script: Path | None = None) -> Result:
    threads = min(2, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "-H",
               f"Authorization: {auth}", url]
    if script is not None:
        command[1:1] = ["-s", str(script)]
    out = subprocess.run(command, capture_output=True, text=True, check=True,
                         env={**os.environ, "MOCKFLOW_BENCH_AUTH": auth}).stdout
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


def python_load(url: str, seconds: float, connections: int, auth: str, writes: bool = False) -> Result:
    """`connections` clients, one connection each, as fast as they can for `seconds` (GETs, or
    POST-then-DELETE pairs of a variable when `writes`). Slower than wrk: a fallback only."""
    return asyncio.run(_python_load(url, seconds, connections, auth, writes))


async def _python_load(url: str, seconds: float, connections: int, auth: str, writes: bool) -> Result:
    deadline = time.perf_counter() + seconds
    timings: list[float] = []
    errors = [0]

    async def client(index: int) -> None:
        async with httpx.AsyncClient(headers={"Authorization": auth}, timeout=5) as http:
            count = 0
            while time.perf_counter() < deadline:
                count += 1
                for method, target, body in _requests(url, writes, f"bench_{index}_{count}"):
                    started = time.perf_counter()
                    response = await http.request(method, target, content=body,
                                                  headers={"Content-Type": "application/json"})
                    timings.append(time.perf_counter() - started)
                    errors[0] += not 200 <= response.status_code < 300

    started = time.perf_counter()
    await asyncio.gather(*(client(index) for index in range(connections)))
    elapsed = time.perf_counter() - started
    ordered = sorted(timings)
    return Result(rps=len(ordered) / elapsed, p50_ms=statistics.median(ordered) * 1000,
                  p99_ms=ordered[max(int(len(ordered) * 0.99) - 1, 0)] * 1000, errors=errors[0])


def _requests(url: str, writes: bool, key: str) -> list[tuple[str, str, bytes | None]]:
    if not writes:
        return [("GET", url, None)]
    body = json.dumps({"key": key, "value": "x"}).encode()
    return [("POST", url, body), ("DELETE", f"{url}/{key}", None)]
