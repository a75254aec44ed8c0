"""The store at scale: 1,000 DAGs x 100 runs x 10 tasks = 100,000 runs and 1,000,000 task instances.

    .venv/bin/python benchmarks/scale.py [--dags 1000] [--runs 100] [--tasks 10]
    .venv/bin/python benchmarks/scale.py --from-files DIR    # a set from `mockflow generate`

Builds the data in memory (records, not files, so the figure is the store's own), then times
filtered list calls with limit=100: the handler alone and the whole in-process request, and
reports resident memory per million task instances.

With `--from-files`, times the first `create_app` of a new process on a set of files (target
<= 5 s for the generated 1,000-DAG / 1M-TI set): once reading the files (which writes the seed
file beside the bytecode, unless one for this set and code exists), then five times from that
seed file, whose median is the figure; with each, the CPU time, peak resident memory and the size
of the seed a reset restores (target < 1 GB).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

STATES = ["success"] * 6 + ["failed", "skipped", "upstream_failed", "running", None]
RUN_STATES = ["success"] * 7 + ["failed", "running", "queued"]


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def build_state(dags: int, runs: int, tasks: int) -> Any:
    from mockflow.store.builtins import ensure_builtins
    from mockflow.store.records import Dag, DagRun, Task, TaskInstance
    from mockflow.store.state import State

    rng = random.Random(7)
    durations = random.Random(8)  # apart, so the states drawn above stay those of earlier runs
    state = State()
    start = datetime(2024, 1, 1, tzinfo=UTC)
    for d in range(dags):
        dag_id = f"dag_{d:04d}"
        task_ids = [f"task_{t:02d}" for t in range(tasks)]
        state.dags[dag_id] = Dag(
            dag_id=dag_id, fileloc=f"/opt/airflow/dags/{dag_id}.py", is_paused=d % 3 == 0, owners=["data"],
            tags=[f"team{d % 7}"], schedule_interval={"__type": "CronExpression", "value": "0 0 * * *"},
            timetable_description="At 00:00", start_date=start,
            tasks={t: Task(task_id=t, downstream_task_ids=task_ids[i + 1:i + 2]) for i, t in enumerate(task_ids)},
        )
        for r in range(runs):
            logical = start + timedelta(days=r)
            run_id = f"scheduled__{logical.isoformat()}"
            run = DagRun(dag_id=dag_id, dag_run_id=run_id, logical_date=logical, run_type="scheduled",
                         state=rng.choice(RUN_STATES), external_trigger=False, start_date=logical,
                         end_date=logical + timedelta(minutes=30), data_interval_start=logical - timedelta(days=1),
                         data_interval_end=logical, id=state.next_id("dag_runs"))
            state.dag_runs.insert(run)
            for t in task_ids:
                ti_state = rng.choice(STATES)
                took = round(durations.uniform(1, 3600), 3)
                state.task_instances.insert(TaskInstance(
                    dag_id=dag_id, dag_run_id=run_id, task_id=t, state=ti_state, try_number=1, max_tries=1,
                    start_date=logical, end_date=logical + timedelta(seconds=took), duration=took,
                    operator="BashOperator", id=state.next_id("task_instances")))
    ensure_builtins(state)
    return state


CASES = [
    ("runs of one DAG, state=failed", "get_dag_runs", "/api/v1/dags/dag_0500/dagRuns", "state=failed&limit=100"),
    ("TIs of one run", "get_task_instances", "/api/v1/dags/dag_0500/dagRuns/scheduled__2024-02-01T00:00:00+00:00"
     "/taskInstances", "limit=100"),
    ("TIs of one DAG (~ run), state=failed", "get_task_instances", "/api/v1/dags/dag_0500/dagRuns/~/taskInstances",
     "state=failed&limit=100"),
    ("TIs of all DAGs, state=running", "get_task_instances", "/api/v1/dags/~/dagRuns/~/taskInstances",
     "state=running&limit=100"),
    ("runs of all DAGs (~), state=queued", "get_dag_runs", "/api/v1/dags/~/dagRuns", "state=queued&limit=100"),
    ("runs of all DAGs (~), a start_date day", "get_dag_runs", "/api/v1/dags/~/dagRuns",
     "start_date_gte=2024-02-01T00:00:00Z&start_date_lte=2024-02-02T00:00:00Z&limit=100"),
    ("TIs of all DAGs, pool=default_pool", "get_task_instances", "/api/v1/dags/~/dagRuns/~/taskInstances",
     "pool=default_pool&limit=100"),
    ("TIs of all DAGs, an execution_date day", "get_task_instances", "/api/v1/dags/~/dagRuns/~/taskInstances",
     "execution_date_gte=2024-02-01T00:00:00Z&execution_date_lte=2024-02-02T00:00:00Z&limit=100"),
    ("TIs of all DAGs, duration >= 1000 s", "get_task_instances", "/api/v1/dags/~/dagRuns/~/taskInstances",
     "duration_gte=1000&limit=100"),
    ("TIs of all DAGs, duration <= 60 s", "get_task_instances", "/api/v1/dags/~/dagRuns/~/taskInstances",
     "duration_lte=60&limit=100"),
    ("TIs of all DAGs, a start_date day", "get_task_instances", "/api/v1/dags/~/dagRuns/~/taskInstances",
     "start_date_gte=2024-02-01T00:00:00Z&start_date_lte=2024-02-02T00:00:00Z&limit=100"),
    ("TIs of all DAGs, end_date in the last week", "get_task_instances", "/api/v1/dags/~/dagRuns/~/taskInstances",
     "end_date_gte=2024-04-03T00:00:00Z&limit=100"),
    ("TIs of all DAGs, queue=default", "get_task_instances", "/api/v1/dags/~/dagRuns/~/taskInstances",
     "queue=default&limit=100"),
    ("TIs of all DAGs, state=success and pool", "get_task_instances", "/api/v1/dags/~/dagRuns/~/taskInstances",
     "state=success&pool=default_pool&limit=100"),
    # Not a task-instance list, but its slot figures are summed over every task instance.
    ("pools (slot figures from all TIs)", "get_pools", "/api/v1/pools", "limit=100"),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dags", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=30)
    parser.add_argument("--from-files", metavar="DIR", help="time the first create_app on this fixture set")
    args = parser.parse_args()
    if args.from_files:
        first_apps(args.from_files)
    else:
        run_scale(args.dags, args.runs, args.tasks, args.iterations)


_FIRST_APP = """
import resource, sys, time
started = time.perf_counter()
from mockflow import Settings, create_app
app = create_app(Settings(fixtures=(sys.argv[1],)))
took = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_SELF)
print(f"{took:.2f} {usage.ru_utime:.2f} {usage.ru_stime:.2f} {usage.ru_maxrss / 1024:.0f}"
      f" {len(app.store.state.task_instances)} {len(app.store.seed) / 2**20:.0f}")
"""
_FROM_SEED_RUNS = 5  # one run is at the mercy of the machine's moment: the median of five is the figure


def first_apps(directory: str) -> None:
    """The first create_app of new processes: the first reads the files (and writes the seed file,
    unless one for this set and code exists already); the next five restore that seed file."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    root = str(Path(__file__).resolve().parents[1])

    def first_app() -> list[float]:
        out = subprocess.run([sys.executable, "-c", _FIRST_APP, directory], env=env, cwd=root, check=True,
                             capture_output=True, text=True).stdout.split()
        return [float(figure) for figure in out]

    def line(figures: list[float]) -> str:
        took, user, system, peak, tis, seed = figures
        return (f"{took:.1f} s (CPU {user:.1f} s user, {system:.1f} s system), peak resident {peak:.0f} MB, "
                f"{tis:.0f} task instances, seed {seed:.0f} MB")

    print(f"first create_app, reading the files (or an earlier seed file): {line(first_app())}")
    runs = [first_app() for _ in range(_FROM_SEED_RUNS)]
    for figures in runs:
        print(f"first create_app, from the seed file: {line(figures)}")
    took = sorted(figures[0] for figures in runs)
    print(f"first create_app from the seed file, median of {len(runs)}: {statistics.median(took):.1f} s "
          f"(range {took[0]:.1f}-{took[-1]:.1f}); target <= 5 s")


def run_scale(dags: int = 1000, runs: int = 100, tasks: int = 10, iterations: int = 30) -> None:
    from benchmarks.bench import asgi_get
    from mockflow import Settings, Store, create_app

    gc.collect()
    before = rss_mb()
    started = time.perf_counter()
    state = build_state(dags, runs, tasks)
    built = time.perf_counter() - started
    gc.collect()
    tis = len(state.task_instances)
    per_million = (rss_mb() - before) / (tis / 1_000_000)
    print(f"\nscale: {dags} DAGs, {len(state.dag_runs)} runs, {tis} task instances built in {built:.1f} s; "
          f"resident memory {per_million:.0f} MB per million task instances (one copy of the state)")
    started = time.perf_counter()
    store = Store(state)
    print(f"Store() copying the seed for reset: {time.perf_counter() - started:.1f} s, "
          f"resident now {rss_mb():.0f} MB")
    app = create_app(Settings(), store=store)
    timings: dict[str, list[float]] = {}

    def timed(name: str, handler: Any) -> Any:
        def wrapper(call: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return handler(call)
            finally:
                timings.setdefault(name, []).append(time.perf_counter() - t0)
        return wrapper

    for name, handler in list(app.pipeline.handlers.items()):
        app.pipeline.handlers[name] = timed(name, handler)
    print(f"{'filtered list, limit=100':42} {'handler med ms':>15} {'end-to-end med ms':>18} {'rows':>6}")
    for label, operation, path, query in CASES:
        timings.clear()
        total: list[float] = []
        rows = 0
        for _ in range(iterations):
            t0 = time.perf_counter()
            status, body = asyncio.run(asgi_get(app, path, query))
            total.append(time.perf_counter() - t0)
            if status != 200:
                raise SystemExit(f"{path}?{query}: {status} {body[:300]!r}")
            rows = max(body.count(b'"dag_id"'), body.count(b'"open_slots"'))
        handler_ms = statistics.median(timings[operation]) * 1000
        print(f"{label:42} {handler_ms:15.2f} {statistics.median(total) * 1000:18.2f} {rows:6d}")
    reset_at_scale(app, min(dags, 25))


def hundred_writes(dags: int, round_number: int) -> list[tuple[str, str, Any]]:
    """50 variables created, then runs triggered (each with its task instances) and patched."""
    day = f"2031-01-{round_number + 1:02d}T00:00:00+00:00"
    patched = "scheduled__2024-01-02T00:00:00+00:00"
    return [*[("POST", "/api/v1/variables", {"key": f"scale_{n}", "value": "v"}) for n in range(50)],
            *[("POST", f"/api/v1/dags/dag_{d:04d}/dagRuns", {"dag_run_id": f"bench_{round_number}",
                                                          "logical_date": day}) for d in range(dags)],
            *[("PATCH", f"/api/v1/dags/dag_{d:04d}/dagRuns/{patched}", {"state": "failed"}) for d in range(dags)]]


def reset_at_scale(app: Any, dags: int) -> None:
    """The store's reset after 100 writes, by undo log, next to thawing the whole seed (the old reset)."""
    from benchmarks.bench import calls
    from mockflow.store import thaw

    timings, undone = [], 0
    for round_number in range(3):
        calls(app, hundred_writes(dags, round_number))
        started = time.perf_counter()
        undone = app.store.reset()
        timings.append(time.perf_counter() - started)
    gc.collect()
    started = time.perf_counter()
    thawed = thaw(app.store.seed)
    thawing = time.perf_counter() - started
    del thawed
    print(f"reset after 100 writes: undo log {statistics.median(timings) * 1000:.1f} ms median of 3 "
          f"({undone} changes undone); thawing the seed (the old reset) {thawing * 1000:.0f} ms; target <= 20 ms")


if __name__ == "__main__":
    main()
