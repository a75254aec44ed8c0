"""A bounded soak: `mockflow serve` on loopback under mixed reads and writes from many clients.

    .venv/bin/python benchmarks/soak.py [--seconds 300] [--clients 20]

The server runs in its own process (journal on, the embedded default data), so its resident
memory is its own; it is read from /proc every few seconds. Each client keeps one connection and
loops over a fixed mix: lists and single reads, a pool created, changed and deleted again, a run's
note and a DAG's pause flag set, so the store stays the same size and only mockflow itself could
make memory grow. Prints
throughput, median and p99 latency, every error status, and memory at start, after warm-up and
at the end. Memory counts as flat when it grows less than 5 % after warm-up, that is once the
journal (10,000 entries by default) is full, over at least a third of the run.
"""

from __future__ import annotations

import argparse
import itertools
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
DAG = "ingest_orders"  # a DAG of the embedded default set, and one of its runs
RUN = "scheduled__2024-06-03T08:00:00+00:00"
RUNS = f"/api/v1/dags/{DAG}/dagRuns"
Request = Callable[[httpx.Client, int], httpx.Response]


def _reads() -> list[Request]:
    return [
        lambda c, n: c.get("/api/v1/dags", params={"limit": 25}),
        lambda c, n: c.get(RUNS, params={"limit": 10, "order_by": "-execution_date"}),
        lambda c, n: c.get("/api/v1/dags/~/dagRuns/~/taskInstances", params={"limit": 50}),
        lambda c, n: c.get("/api/v1/pools"),
        lambda c, n: c.get("/api/v1/variables"),
        lambda c, n: c.post("/api/v1/dags/~/dagRuns/list", json={"page_limit": 20}),
    ]


def _writes(client_id: int) -> list[Request]:
    # None of Airflow's seven audited operations: their event-log rows would grow the store, as they
    # do on Airflow, and hide whatever mockflow itself might leak.
    def name(n: int) -> str:
        return f"soak-{client_id}-{n}"

    note = f"{RUNS}/{RUN}/setNote"
    return [
        lambda c, n: c.post("/api/v1/pools", json={"name": name(n), "slots": 4}),
        lambda c, n: c.patch(f"/api/v1/pools/{name(n)}", json={"name": name(n), "slots": 8}),
        lambda c, n: c.get(f"/api/v1/pools/{name(n)}"),
        lambda c, n: c.delete(f"/api/v1/pools/{name(n)}"),
        lambda c, n: c.patch(note, json={"note": f"soak {client_id} {n}"}),
        lambda c, n: c.patch(f"/api/v1/dags/{DAG}", json={"is_paused": n % 2 == 0}),
    ]


def mix(client_id: int) -> Iterator[Request]:
    """Two reads, then a write, round and round: about two thirds reads."""
    reads, writes = itertools.cycle(_reads()), itertools.cycle(_writes(client_id))
    while True:
        yield next(reads)
        yield next(reads)
        yield next(writes)


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: int = 0


def client_loop(url: str, client_id: int, until: float, tally: Tally) -> None:
    with httpx.Client(base_url=url, auth=("admin", "admin"), timeout=30) as client:
        for n, request in enumerate(mix(client_id)):
            if time.monotonic() >= until:
                return
            started = time.perf_counter()
            try:
                status = request(client, n // 18).status_code  # a new key for every round of six writes
            except httpx.HTTPError:
                tally.failures += 1
                continue
            tally.latencies.append(time.perf_counter() - started)
            tally.statuses[status] += 1


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_server(port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "mockflow", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=0.5).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("mockflow serve did not answer within 30 s")


def soak(seconds: float, clients: int, sample_every: float) -> bool:
    port = free_port()
    server = start_server(port)
    try:
        url = f"http://127.0.0.1:{port}"
        journal_limit = int(httpx.get(f"{url}/_mockflow/info", timeout=10).json()["journal_limit"])
        tallies = [Tally() for _ in range(clients)]
        memory = [Sample(0.0, rss_mib(server.pid), 0)]
        started = time.monotonic()
        threads = [threading.Thread(target=client_loop, args=(url, i, started + seconds, tallies[i]), daemon=True)
                   for i in range(clients)]
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            time.sleep(min(sample_every, max(0.1, started + seconds - time.monotonic())))
            served = sum(len(tally.latencies) for tally in tallies)
            memory.append(Sample(time.monotonic() - started, rss_mib(server.pid), served))
        elapsed = time.monotonic() - started
    finally:
        server.terminate()
        server.wait(10)
    return report(tallies, elapsed, memory, journal_limit)


@dataclass(frozen=True)
class Sample:
    at: float  # seconds into the soak
    rss_mib: float
    served: int  # requests answered so far


def report(tallies: list[Tally], elapsed: float, memory: list[Sample], journal_limit: int) -> bool:
    latencies = sorted(latency for tally in tallies for latency in tally.latencies)
    statuses: Counter[int] = sum((tally.statuses for tally in tallies), Counter())
    failures = sum(tally.failures for tally in tallies)
    p99 = latencies[int(len(latencies) * 0.99)] if latencies else float("nan")
    print(f"{len(tallies)} clients, {elapsed:.0f} s, journal on (limit {journal_limit}): {len(latencies)} requests, "
          f"{len(latencies) / elapsed:.0f} req/s; latency median {statistics.median(latencies) * 1000:.1f} ms, "
          f"p99 {p99 * 1000:.1f} ms")
    print("statuses: " + ", ".join(f"{status}: {count}" for status, count in sorted(statuses.items()))
          + f"; transport failures: {failures}")
    # Warm once the journal is full (from then on it drops one entry per entry it adds).
    warm = next((sample for sample in memory if sample.served >= journal_limit), None)
    end = memory[-1]
    print(f"server RSS: start {memory[0].rss_mib:.1f} MiB, end {end.rss_mib:.1f} MiB, "
          f"peak {max(sample.rss_mib for sample in memory):.1f} MiB")
    bad = sum(count for status, count in statuses.items() if status >= 500) + failures
    if warm is None or end.at - warm.at < elapsed / 3:
        print("verdict: the journal filled too late to judge memory (soak longer); "
              f"{bad} server errors or failed requests")
        return bad == 0
    growth = (end.rss_mib - warm.rss_mib) / warm.rss_mib * 100
    flat = growth < 5
    print(f"after warm-up (journal full at t={warm.at:.0f} s): {warm.rss_mib:.1f} MiB -> {end.rss_mib:.1f} MiB "
          f"({growth:+.1f} %) over {end.at - warm.at:.0f} s")
    print(f"verdict: memory {'flat' if flat else 'GROWING'}, {bad} server errors or failed requests")
    return flat and bad == 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=300, help="how long to soak (default 300)")
    parser.add_argument("--clients", type=int, default=20, help="concurrent clients (default 20)")
    parser.add_argument("--sample-every", type=float, default=5, help="seconds between memory samples")
    args = parser.parse_args()
    return 0 if soak(args.seconds, args.clients, args.sample_every) else 1


if __name__ == "__main__":
    sys.exit(main())
