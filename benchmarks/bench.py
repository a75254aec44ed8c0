"""mockflow's speed figures: request latency with and without validation, app build time, cold start.

    .venv/bin/python benchmarks/bench.py [--iterations 2000] [--skip-serve] [--scale]

Every figure is printed with what it measures. Requests are made in-process as bare ASGI calls
(no socket, no test client), so the numbers are mockflow's own cost. Between iterations the
clock advances and every listed item is touched, so each response differs from the last and no
cache of earlier verdicts could answer. Targets (issue #2): validated/unvalidated median ratio
on the 25-item list <= 2.0; second create_app() <= 5 ms; `mockflow serve` to first 200 <= 1.5 s;
reset after a typical test on the default set <= 1 ms (and, with --scale, after 100 writes to the
1M task-instance set <= 20 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

AUTH = b"Basic " + base64.b64encode(b"admin:admin")


async def asgi_get(app: Any, path: str, query: str = "", accept: str = "application/json") -> tuple[int, bytes]:
    """One GET through the app as an ASGI server would send it; returns status and body."""
    return await asgi_call(app, "GET", path, query=query, accept=accept)


async def asgi_call(app: Any, method: str, path: str, body: Any = None, query: str = "",
                    accept: str = "application/json") -> tuple[int, bytes]:
    """One request (a JSON body unless None) through the app; returns status and body."""
    content = b"" if body is None else json.dumps(body).encode()
    headers = [(b"host", b"bench"), (b"authorization", AUTH), (b"accept", accept.encode())]
    if body is not None:
        headers.append((b"content-type", b"application/json"))
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
        "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
        "headers": headers, "client": ("127.0.0.1", 1), "server": ("bench", 80),
    }
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": content, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


def write_fixture_set(directory: Path, items: int) -> None:
    """A set with `items` DAGs (each with a few tasks) and `items` event-log rows."""
    (directory / "dags").mkdir(parents=True)
    for index in range(items):
        dag_id = f"bench_dag_{index:03d}"
        dag = {
            "dag_id": dag_id, "fileloc": f"/opt/airflow/dags/{dag_id}.py", "is_paused": index % 2 == 0,
            "is_active": True, "is_subdag": False, "owners": ["data-eng"], "description": f"Benchmark DAG {index}",
            "tags": [{"name": "bench"}, {"name": f"team{index % 3}"}],
            "schedule_interval": {"__type": "CronExpression", "value": "0 3 * * *"},
            "timetable_description": "At 03:00", "start_date": "2024-01-01T00:00:00+00:00",
            "max_active_tasks": 16, "max_active_runs": 16, "has_task_concurrency_limits": False,
            "has_import_errors": False, "default_view": "grid", "last_parsed_time": "2024-03-01T00:00:00+00:00",
            "tasks": [
                {"task_id": f"step_{t}", "downstream_task_ids": [f"step_{t + 1}"] if t < 3 else [],
                 "class_ref": {"class_name": "BashOperator", "module_path": "airflow.operators.bash"},
                 "operator_name": "BashOperator", "pool": "default_pool", "retries": 1.0}
                for t in range(4)
            ],
        }
        (directory / "dags" / f"{dag_id}.json").write_text(json.dumps(dag))
    logs = [{"event_log_id": i + 1, "when": "2024-03-01T00:00:00+00:00", "event": "cli_scheduler",
             "owner": "airflow", "extra": json.dumps({"host_name": f"worker-{i}"})} for i in range(items)]
    (directory / "event_logs.json").write_text(json.dumps(logs))


def touch_everything(app: Any) -> None:
    """Advance the clock and change every DAG and event-log row, so no response repeats."""
    store = app.store
    store.clock.advance(timedelta(seconds=1))
    with store.lock:
        now = store.clock.now()
        for dag in store.state.dags.values():
            dag.wire["last_parsed_time"] = now.isoformat()
            dag.is_paused = not dag.is_paused
        for row in store.state.event_logs.values():
            row.when = now


def measure(app: Any, path: str, query: str, iterations: int, accept: str = "application/json",
            before: Callable[[], None] | None = None) -> list[float]:
    async def run() -> list[float]:
        timings = []
        for _ in range(iterations):
            if before is not None:
                before()
            started = time.perf_counter()
            status, _ = await asgi_get(app, path, query, accept)
            timings.append(time.perf_counter() - started)
            if status != 200:
                raise SystemExit(f"{path}?{query} answered {status}")
        return timings

    return asyncio.run(run())


def summary(timings: list[float]) -> tuple[float, float]:
    ordered = sorted(timings)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99) - 1] * 1000


def latency_table(fixtures: Path, iterations: int) -> None:
    from mockflow import Settings, create_app

    apps = {engine: create_app(Settings(fixtures=(str(fixtures),), validation=engine, expose_config=True))
            for engine in ("compiled", "off")}
    dags_ready = "get_dags" in apps["off"].pipeline.handlers
    list_path, list_name = ("/api/v1/dags", "GET /dags?limit=25 (25 DAGs)") if dags_ready else \
        ("/api/v1/eventLogs", "GET /eventLogs?limit=25 (25 rows)")
    cases = [
        ("GET /health", "/api/v1/health", "", "application/json", False),
        (list_name, list_path, "limit=25", "application/json", True),
        ("GET /config (JSON)", "/api/v1/config", "", "application/json", False),
    ]
    print(f"{'request':34} {'validated med/p99 ms':>22} {'unvalidated med/p99 ms':>24} {'ratio of medians':>17}")
    for name, path, query, accept, touch in cases:
        results = {}
        for engine, app in apps.items():
            measure(app, path, query, 50, accept)  # warm up
            before = (lambda app=app: touch_everything(app)) if touch else None
            results[engine] = summary(measure(app, path, query, iterations, accept, before))
        (v_med, v_p99), (u_med, u_p99) = results["compiled"], results["off"]
        print(f"{name:34} {v_med:10.3f} / {v_p99:8.3f} {u_med:12.3f} / {u_p99:8.3f} {v_med / u_med:17.2f}")
    reference = create_app(Settings(fixtures=(str(fixtures),), validation="openapi-core"))
    med, p99 = summary(measure(reference, list_path, "limit=25", max(iterations // 20, 20),
                               before=lambda: touch_everything(reference)))
    print(f"{list_name} with plain openapi-core (the validator of record): {med:.3f} / {p99:.3f} ms")


def controls_overhead(fixtures: Path, iterations: int) -> None:
    """What the journal and the fault check add to the 25-item list (target: <= 5 %)."""
    from mockflow import Settings, create_app
    from mockflow.control.steps import inject_faults, record_in_journal

    bare = create_app(Settings(fixtures=(str(fixtures),)))
    for served in bare.served.values():  # the same app without the two control steps
        served.steps = tuple(s for s in served.steps if s not in (record_in_journal, inject_faults))
    journaled = create_app(Settings(fixtures=(str(fixtures),)))
    with_rule = create_app(Settings(fixtures=(str(fixtures),)))
    with_rule.control.post_fault({"match": {"operation_id": "get_pool"}, "effect": {"status": 404}})
    apps = {"no journal, no faults": bare, "journal": journaled, "journal + a fault rule": with_rule}
    rounds: dict[str, list[float]] = {name: [] for name in apps}
    for _ in range(5):  # interleaved rounds, so drift on a shared machine hits all alike
        for name, app in apps.items():
            rounds[name] += measure(app, "/api/v1/dags", "limit=25", iterations // 5,
                                    before=functools.partial(touch_everything, app))
            app.control.delete_requests()
    base = statistics.median(rounds["no journal, no faults"])
    for name, timings in rounds.items():
        med, p99 = summary(timings)
        print(f"GET /dags?limit=25, {name:24} {med:8.3f} / {p99:8.3f} ms   x{statistics.median(timings) / base:.3f}")
    steps_alone(with_rule, base)


def steps_alone(app: Any, page_seconds: float) -> None:
    """The two steps on their own, around a handler that answers at once: their cost per request,
    free of the drift that whole-request timings carry on a shared machine."""
    from mockflow.api.context import Reply
    from mockflow.control.steps import inject_faults, record_in_journal
    from mockflow.pipeline import Exchange, run
    from mockflow.validation import RawRequest

    served = app.pipeline
    op = served.bundle.spec.operations["get_dags"]
    namespace = app.namespaces.default
    answer = Reply(body={})

    def exchange() -> Exchange:
        raw = RawRequest(path_params={}, query=[("limit", "25")], content_type=None, body=b"")
        return Exchange(app=app, bundle=served.bundle, op=op, method="GET", url_path="/api/v1/dags", raw=raw,
                        headers={"authorization": "Basic YWRtaW46YWRtaW4="}, settings=app.settings,
                        namespace=namespace, store=namespace.store, validator=served.validator,
                        handlers=served.handlers, health=app.health)

    def answer_now(ex: Exchange, call_next: Any) -> Reply:
        return answer

    costs = {}
    for name, steps in (("none", (answer_now,)), ("journal + faults", (record_in_journal, inject_faults,
                                                                       answer_now))):
        rounds = []
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(2000):
                run(steps, exchange())
            rounds.append((time.perf_counter() - started) / 2000 * 1e6)
            namespace.journal.clear()
        costs[name] = statistics.median(rounds)
    added = costs["journal + faults"] - costs["none"]
    print(f"journal + fault check (one rule) alone: {added:.1f} us per request = "
          f"{added / (page_seconds * 1e4):.1f} % of the 25-DAG page (target <= 5 %)")


def calls(app: Any, requests: list[tuple[str, str, Any]]) -> None:
    """Requests in one event loop; any answer but a success stops the benchmark."""
    async def run() -> None:
        for method, path, body in requests:
            status, answer = await asgi_call(app, method, path, body)
            if status >= 300:
                raise SystemExit(f"{method} {path}: {status} {answer[:300]!r}")

    asyncio.run(run())


def typical_test(round_number: int) -> list[tuple[str, str, Any]]:
    """About ten writes, as a test might make them (on the embedded default set)."""
    run = "/api/v1/dags/ingest_orders/dagRuns"
    return [
        *[("POST", "/api/v1/variables", {"key": f"bench_{n}", "value": str(round_number)}) for n in range(4)],
        ("PATCH", "/api/v1/pools/warehouse", {"name": "warehouse", "slots": 8 + round_number % 3}),
        ("POST", "/api/v1/pools", {"name": "bench_pool", "slots": 2}),
        ("PATCH", "/api/v1/dags/ingest_orders", {"is_paused": round_number % 2 == 0}),
        ("POST", run, {"dag_run_id": "bench", "logical_date": "2031-01-01T00:00:00+00:00"}),
        ("PATCH", f"{run}/bench", {"state": "success"}),
        ("DELETE", "/api/v1/variables/alert_channels", None),
    ]


def reset_figures(rounds: int) -> None:
    """`app.control.reset()` after a typical test, by undo log, next to restoring the whole seed."""
    from mockflow import create_app
    from mockflow.store import thaw

    app = create_app()
    undo: list[float] = []
    undone = 0
    for number in range(rounds):
        calls(app, typical_test(number))
        started = time.perf_counter()
        undone = app.control.reset()["changes_undone"]
        undo.append(time.perf_counter() - started)
    thawing = []
    for _ in range(max(rounds // 4, 10)):
        started = time.perf_counter()
        thaw(app.store.seed)
        thawing.append(time.perf_counter() - started)
    (u_med, u_p99), (t_med, t_p99) = summary(undo), summary(thawing)
    state = app.store.state
    print(f"reset after ~10 writes, default set ({len(state.dags)} DAGs, {len(state.task_instances)} TIs): "
          f"undo log {u_med:.3f} / {u_p99:.3f} ms med/p99 ({undone} changes undone); "
          f"thawing the seed (the old reset) {t_med:.3f} / {t_p99:.3f} ms; target <= 1 ms")


def logging_cost(fixtures: Path, iterations: int) -> None:
    """What recording inverses costs a request: the 25-DAG list (it logs the login counters) and
    a write-heavy loop, with the undo log on and switched off."""
    from mockflow import Settings, create_app

    writes = [("POST", "/api/v1/variables", {"key": "bench", "value": "v"}),
              ("PATCH", "/api/v1/pools/default_pool", {"name": "default_pool", "slots": 128}),
              ("PATCH", "/api/v1/dags/bench_dag_001", {"is_paused": False})]
    print(f"{'undo log cost, median ms':34} {'log on':>10} {'log off':>10}")
    for name, requests in [("GET /dags?limit=25 (25 DAGs)", None), ("write loop (3 writes per round)", writes)]:
        results = []
        for recording in (True, False):
            app = create_app(Settings(fixtures=(str(fixtures),)))
            if not recording:
                app.store.state.changes.stop()
            if requests is None:
                results.append(summary(measure(app, "/api/v1/dags", "limit=25", iterations))[0])
                continue
            timings = []
            for _ in range(iterations // 3):
                started = time.perf_counter()
                calls(app, requests)
                timings.append(time.perf_counter() - started)
            results.append(summary(timings)[0])
        print(f"{name:34} {results[0]:10.3f} {results[1]:10.3f}")


def app_build_times(fixtures: Path) -> None:
    code = (
        "import time,sys\n"
        "t=time.perf_counter()\nfrom mockflow import Settings, create_app\n"
        f"s=Settings(fixtures=({str(fixtures)!r},))\n"
        "a=time.perf_counter(); create_app(s); b=time.perf_counter(); create_app(s); c=time.perf_counter()\n"
        "print(f'{(a-t)*1000:.1f} {(b-a)*1000:.1f} {(c-b)*1000:.1f}')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    imports, first, second = out.stdout.split()
    print(f"import mockflow: {imports} ms; first create_app(): {first} ms; second create_app(): {second} ms")


def serve_cold_start() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "mockflow", "serve", "--port", str(port), "--log-level", "warning"]
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import httpx

        while time.perf_counter() - started < 30:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=0.5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.01)
        print(f"mockflow serve: start to first 200 in {(time.perf_counter() - started) * 1000:.0f} ms")
    finally:
        process.terminate()
        process.wait(timeout=10)


def simulation_figures() -> None:
    """The simulated scheduler: one step over 1,000 running task instances, and the default set
    run to idle in virtual time (every unpaused DAG triggered once)."""
    from datetime import UTC, datetime

    from mockflow import Settings, create_app
    from mockflow.simulation import Simulation
    from mockflow.store.dag_runs import trigger_dag
    from mockflow.store.records import Dag, Pool, Task
    from mockflow.store.state import State

    start = datetime(2024, 6, 10, tzinfo=UTC)
    state = State()
    state.pools["default_pool"] = Pool("default_pool", 2000, id=1)
    tasks = {f"t{i}": Task(task_id=f"t{i}", downstream_task_ids=[]) for i in range(1000)}
    state.dags["wide"] = Dag(dag_id="wide", fileloc="/dags/wide.py", is_paused=False, tasks=tasks,
                             max_active_tasks=2000)
    trigger_dag(state, state.dags["wide"], "r1", start, None, None)
    simulation = Simulation()
    simulation.observe(state, start)
    simulation.catch_up(state, start + timedelta(seconds=3))
    running = state.task_instances.count_in_state("running")
    at = start + timedelta(seconds=3)
    timings = []
    for _ in range(20):
        started = time.perf_counter()
        simulation.scheduler.step(state, at)
        simulation.scheduler.next_due(state, at)
        timings.append(time.perf_counter() - started)
    med, _ = summary(timings)
    started = time.perf_counter()
    moves = simulation.catch_up(state, start + timedelta(seconds=30))
    ended = (time.perf_counter() - started) * 1000
    print(f"simulation: a scheduler step (nothing due) over {running} running task instances: {med:.2f} ms; "
          f"the catch-up in which all of them end and the run finishes ({moves} moves): {ended:.0f} ms")

    history_figure()

    app = create_app(Settings())
    app.control.put_simulation({"mode": "virtual"})
    with app.store.lock:
        dags = [dag for dag in app.store.state.dags.values() if not dag.is_paused]
        for dag in dags:
            trigger_dag(app.store.state, dag, "bench", app.store.clock.now(), None, None)
    started = time.perf_counter()
    result = app.control.run_until_idle()
    took = (time.perf_counter() - started) * 1000
    print(f"simulation: the default set ({len(dags)} DAGs triggered) run to idle in virtual time: {took:.0f} ms "
          f"({result['moves']} moves over {result['instants']} instants)")


def history_figure() -> None:
    """What a request's catch-up costs in real time when nothing is due: 20 unpaused daily DAGs with
    5,000 finished runs each (their unfinished runs are listed once per change, not per request)."""
    from datetime import UTC, datetime

    from mockflow.simulation import Simulation
    from mockflow.store.records import Dag, DagRun, Task
    from mockflow.store.state import State

    start = datetime(2024, 6, 10, tzinfo=UTC)
    state = State()
    for number in range(20):
        dag = Dag(dag_id=f"d{number}", fileloc=f"/dags/d{number}.py", is_paused=False,
                  tasks={"t": Task(task_id="t", downstream_task_ids=[])}, start_date=datetime(2000, 1, 1, tzinfo=UTC),
                  schedule_interval={"__type": "CronExpression", "value": "0 0 * * *"}, wire={"catchup": False})
        state.dags[dag.dag_id] = dag
        for day in range(1, 5001):
            when = start - timedelta(days=day)
            state.dag_runs.insert(DagRun(dag_id=dag.dag_id, dag_run_id=f"scheduled__{when.isoformat()}",
                                         logical_date=when, run_type="scheduled", state="success",
                                         id=state.next_id("dag_runs")))
    simulation = Simulation()
    simulation.catch_up(state, start)
    timings = []
    for step in range(1, 41):
        started = time.perf_counter()
        simulation.catch_up(state, start + timedelta(milliseconds=10 * step))
        timings.append(time.perf_counter() - started)
    med, _ = summary(timings)
    print(f"simulation: a request's catch-up (nothing due) over {len(state.dag_runs)} finished runs of 20 unpaused "
          f"scheduled DAGs: {med:.3f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--skip-serve", action="store_true", help="skip the cold-start measurement")
    parser.add_argument("--scale", action="store_true", help="also run the 1M task-instance scenario")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fixtures = Path(tmp) / "bench"
        write_fixture_set(fixtures, 25)
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, {args.iterations} iterations per case\n")
        latency_table(fixtures, args.iterations)
        print()
        controls_overhead(fixtures, args.iterations)
        print()
        logging_cost(fixtures, args.iterations)
        print()
        app_build_times(fixtures)
    reset_figures(max(args.iterations // 10, 40))
    simulation_figures()
    if not args.skip_serve:
        serve_cold_start()
    if args.scale:
        from benchmarks.scale import run_scale

        run_scale()


if __name__ == "__main__":
    main()
