"""The `mockflow` command: `serve`, and the fixture-set tools `check-fixtures`, `generate` and `capture`."""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import logging
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any

import uvicorn

from mockflow.app import create_app
from mockflow.fixtureset.files import FixtureError
from mockflow.fixtureset.load import check_fixture_sets
from mockflow.server import HTTP_CHOICES, LOOP_CHOICES, ServerError, uvicorn_config
from mockflow.settings import AUTH_MODES, VALIDATION_ENGINES, Settings
from mockflow.store import Store


def _tool(name: str) -> ModuleType:
    """`generate` and `capture` load faker and httpx, which `serve` never needs: half its start-up
    time. This module is the top of the layers, so loading them on use hides no cycle."""
    return importlib.import_module(f"mockflow.fixtureset.{name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mockflow", description="An in-memory mock of the Airflow 2.5.3 REST API.")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the mock server (embedded default data unless --fixtures)")
    serve.add_argument("--host", help="interface to bind (MOCKFLOW_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind, 0 for any free one (MOCKFLOW_PORT, default 8080)")
    serve.add_argument("--fixtures", action="append", metavar="DIR",
                       help="fixture set to load; repeat to layer sets (MOCKFLOW_FIXTURES, ':'-separated)")
    serve.add_argument("--auth", choices=AUTH_MODES, help="basic (default), none (all allowed) or deny (all 401)")
    serve.add_argument("--expose-config", action=argparse.BooleanOptionalAction, default=None,
                       help="answer GET /config (MOCKFLOW_EXPOSE_CONFIG; off like Airflow's default)")
    serve.add_argument("--validation", choices=VALIDATION_ENGINES,
                       help="validator engine: compiled (default), openapi-core, off")
    serve.add_argument("--control", action=argparse.BooleanOptionalAction, default=None,
                       help="serve the control API under /_mockflow/ (MOCKFLOW_CONTROL; on by default)")
    serve.add_argument("--control-token", metavar="TOKEN",
                       help="require this bearer token on every control call (MOCKFLOW_CONTROL_TOKEN)")
    serve.add_argument("--journal-limit", type=int, metavar="N",
                       help="journal entries kept per namespace (MOCKFLOW_JOURNAL_LIMIT, default 10000)")
    serve.add_argument("--fault-header", action=argparse.BooleanOptionalAction, default=None,
                       help="honour 'Prefer: code=NNN' one-off faults (MOCKFLOW_FAULT_HEADER; off by default)")
    serve.add_argument("--seed", type=int, help="seed of the random source (MOCKFLOW_SEED, default 0)")
    serve.add_argument("--simulation", choices=("real", "virtual", "off"),
                       help="how runs move: real time (default for serve), virtual (with the clock) or off "
                            "(MOCKFLOW_SIMULATION)")
    serve.add_argument("--simulation-speed", type=float, metavar="X",
                       help="real-time speed-up of task durations and delays (MOCKFLOW_SIMULATION_SPEED, default 60)")
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    serve.add_argument("--http", choices=HTTP_CHOICES, default="auto",
                       help="HTTP parser: auto (httptools where installed, else h11), h11 or httptools")
    serve.add_argument("--loop", choices=LOOP_CHOICES, default="auto",
                       help="event loop: auto (uvloop where installed, else asyncio), asyncio or uvloop")
    serve.add_argument("--gc-freeze", action=argparse.BooleanOptionalAction, default=True,
                       help="keep the objects built at start out of garbage collections (on by default)")
    _add_fixture_commands(commands)
    return parser


def _add_fixture_commands(commands: Any) -> None:
    check = commands.add_parser("check-fixtures", help="check fixture sets (layered in order); list every problem")
    check.add_argument("directories", nargs="+", metavar="DIR", help="fixture set; later sets override earlier ones")
    generate = commands.add_parser("generate", help="write a large, realistic, deterministic fixture set")
    generate.add_argument("--dags", type=int, default=100, help="number of DAGs (default 100)")
    generate.add_argument("--runs-per-dag", type=int, default=10, help="DAG runs per DAG (default 10)")
    generate.add_argument("--tasks-per-dag", type=int, default=10, help="tasks per DAG (default 10)")
    generate.add_argument("--seed", type=int, default=0, help="random seed: the same seed writes the same bytes")
    generate.add_argument("--format", choices=("json", "yaml"), default="json",
                          help="file format (JSON loads ~10x faster; default json)")
    generate.add_argument("--out", required=True, metavar="DIR", help="directory to write (created; must be empty)")
    capture = commands.add_parser("capture", help="read a live Airflow 2.x through its REST API into a fixture set")
    capture.add_argument("--url", required=True, help="base URL of the webserver, e.g. http://localhost:8080")
    capture.add_argument("--user", required=True, help="a user allowed to read everything (Admin)")
    capture.add_argument("--password", required=True)
    capture.add_argument("--out", required=True, metavar="DIR", help="directory to write (created; must be empty)")
    capture.add_argument("--max-runs", type=int, default=None, help="newest runs per DAG to keep (default: all)")
    capture.add_argument("--no-logs", action="store_true", help="skip task logs (the slowest part)")
    capture.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default 30)")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "check-fixtures":
        return check_fixtures(args)
    if args.command == "generate":
        return generate(args)
    if args.command == "capture":
        return capture(args)
    return 2  # pragma: no cover - argparse requires a command


def check_fixtures(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    state, problems = check_fixture_sets(args.directories)
    if state is None:
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"{len(problems)} problem{'s' * (len(problems) != 1)} found", file=sys.stderr)
        return 1
    tis = len(state.task_instances)
    print(f"ok: {len(state.dags)} DAGs, {len(state.dag_runs)} runs, {tis} task instances, {len(state.pools)} pools, "
          f"{len(state.variables)} variables, {len(state.connections)} connections, {len(state.users)} users, "
          f"{len(state.roles)} roles ({time.perf_counter() - started:.2f}s)")
    return 0


def generate(args: argparse.Namespace) -> int:
    tool = _tool("generate")
    try:
        counts = tool.generate_set(tool.GeneratorSettings(dags=args.dags, runs_per_dag=args.runs_per_dag,
                                                tasks_per_dag=args.tasks_per_dag, seed=args.seed,
                                                fmt=args.format), args.out)
    except (ValueError, OSError) as error:
        print(f"mockflow: {error}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}: " + ", ".join(f"{count} {name}" for name, count in counts.items()))
    return 0


def capture(args: argparse.Namespace) -> int:
    tool = _tool("capture")
    options = tool.CaptureOptions(url=args.url, user=args.user, password=args.password, max_runs=args.max_runs,
                                  logs=not args.no_logs, timeout=args.timeout)
    try:
        counts = tool.capture_to(options, args.out, progress=lambda line: print(line, file=sys.stderr))
    except tool.CaptureError as error:
        print(f"mockflow: {error}", file=sys.stderr)
        return 1
    print(f"captured {args.url} into {args.out}: " + ", ".join(f"{count} {name}" for name, count in counts.items()))
    return 0


def serve(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env(
            host=args.host,
            port=args.port,
            fixtures=tuple(args.fixtures) if args.fixtures else None,
            auth=args.auth,
            expose_config=args.expose_config,
            validation=args.validation,
            control=args.control,
            control_token=args.control_token,
            journal_limit=args.journal_limit,
            fault_header=args.fault_header,
            seed=args.seed,
            # a served mock runs its DAGs: real time unless a flag or MOCKFLOW_SIMULATION says otherwise
            simulation=args.simulation or (None if "MOCKFLOW_SIMULATION" in os.environ else "real"),
            simulation_speed=args.simulation_speed,
        )
    except ValueError as error:
        print(f"mockflow: {error}", file=sys.stderr)
        return 2
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        app = create_app(settings)
    except FixtureError as error:
        print(f"mockflow: {error}", file=sys.stderr)
        return 2
    if args.gc_freeze:
        # What exists now (modules, spec, validators, the seeded store) lives as long as the process:
        # out of the collector's sight, a full collection under a write load walks only what requests added.
        gc.collect()
        gc.freeze()
        Store.freeze_new_states = True  # and each state a reset thaws or an import brings
    try:
        config = uvicorn_config(app, host=settings.host, port=settings.port, log_level=args.log_level,
                                http=args.http, loop=args.loop)
    except ServerError as error:
        print(f"mockflow: {error}", file=sys.stderr)
        return 2
    QuietExitServer(config).run()  # one access-log line per request; graceful stop on Ctrl-C/SIGTERM
    return 0


class QuietExitServer(uvicorn.Server):
    """uvicorn re-raises SIGINT/SIGTERM once it has shut down, so the process dies of the signal
    (exit 143 in a container). A mock server stopped on purpose has done nothing wrong: exit 0."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
