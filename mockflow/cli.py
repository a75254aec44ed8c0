"""The `mockflow` command: `serve`, and the fixture-set tools `check-fixtures`, `generate` and `capture`.

User mistakes (a bad flag or variable, a missing or broken fixture set) are one line on stderr
naming the flag or variable at fault, and exit code 2; never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import logging.config
import os
import signal
import socket
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any

import uvicorn

from mockflow import __version__
from mockflow.app import MockflowApp, create_app
from mockflow.clock import Clock
from mockflow.console import Banner, ProgressLine, log_banner, log_config, make_banner
from mockflow.fixtureset.cache import seeded_store
from mockflow.fixtureset.files import FixtureError, default_fixture_dir
from mockflow.fixtureset.load import check_fixture_sets
from mockflow.limits import MAX_JSON_DEPTH_CEILING
from mockflow.server import HTTP_CHOICES, LOOP_CHOICES, ServerError, uvicorn_config
from mockflow.settings import (
    AUTH_MODES,
    LIMITS,
    LOG_FORMATS,
    LOG_LEVELS,
    SIMULATION_MODES,
    VALIDATION_ENGINES,
    SettingError,
    Settings,
    env_name,
)
from mockflow.store import Store
from mockflow.store.state import State


def _tool(name: str) -> ModuleType:
    """`generate` and `capture` load faker and httpx, which `serve` never needs: half its start-up
    time. This module is the top of the layers, so loading them on use hides no cycle."""
    return importlib.import_module(f"mockflow.fixtureset.{name}")


# Every setting's flag: the README's settings table lists them (tests/test_docs.py keeps it whole),
# and a refused value is reported under the flag the user typed.
SETTING_FLAGS: dict[str, str] = {
    "host": "--host", "port": "--port", "fixtures": "--fixtures", "auth": "--auth",
    "expose_config": "--expose-config", "validation": "--validation", "seed": "--seed",
    "control": "--control", "control_token": "--control-token", "journal_limit": "--journal-limit",
    "max_namespaces": "--max-namespaces", "fault_header": "--fault-header", "simulation": "--simulation",
    "simulation_speed": "--simulation-speed", "max_body_bytes": "--max-body-bytes",
    "max_header_bytes": "--max-header-bytes", "max_url_length": "--max-url-length",
    "max_query_params": "--max-query-params", "max_json_depth": "--max-json-depth",
    "log_level": "--log-level", "log_format": "--log-format",
}
_LIMIT_HELP = {
    "max_body_bytes": "larger request bodies get a 413 problem (default 16 MiB)",
    "max_header_bytes": "larger request headers in all get a 431 problem (default 8192)",
    "max_url_length": "longer URLs (path and query) get a 414 problem (default 4094)",
    "max_query_params": "requests with more query parameters get a 414 problem (default 256)",
    "max_json_depth": f"request bodies nested deeper get a 400 problem (default 64, at most {MAX_JSON_DEPTH_CEILING})",
}


def package_version() -> str:
    """The installed distribution's version. importlib.metadata costs `serve` 10-40 ms of start-up
    (an email parser and a scan of sys.path), so it is loaded only when asked; the banner shows
    `mockflow.__version__`, which tests/test_cli.py keeps equal to this."""
    metadata = importlib.import_module("importlib.metadata")
    try:
        return str(metadata.version("airflow-mockflow"))
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


class _VersionAction(argparse.Action):
    """argparse's own version action wants the text when the parser is built, for every command."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the installed version and exit")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        print(f"mockflow {package_version()}")
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mockflow", description="An in-memory mock of the Airflow 2.5.3 REST API.")
    parser.add_argument("--version", action=_VersionAction)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the mock server (embedded default data unless --fixtures)")
    _add_serve_settings(serve)
    _add_limit_flags(serve)
    serve.add_argument("--log-level", choices=LOG_LEVELS,
                       help="uvicorn's and mockflow's log level (MOCKFLOW_LOG_LEVEL, default info)")
    serve.add_argument("--log-format", choices=LOG_FORMATS,
                       help="text lines, or one JSON object per line for CI (MOCKFLOW_LOG_FORMAT, default text)")
    serve.add_argument("--http", choices=HTTP_CHOICES, default="auto",
                       help="HTTP parser: auto (httptools where installed, else h11), h11 or httptools")
    serve.add_argument("--loop", choices=LOOP_CHOICES, default="auto",
                       help="event loop: auto (uvloop where installed, else asyncio), asyncio or uvloop")
    serve.add_argument("--gc-freeze", action=argparse.BooleanOptionalAction, default=True,
                       help="keep the objects built at start out of garbage collections (on by default)")
    _add_fixture_commands(commands)
    return parser


def _add_serve_settings(serve: argparse.ArgumentParser) -> None:
    serve.add_argument("--host", help="interface to bind (MOCKFLOW_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to bind, 0 for any free one (MOCKFLOW_PORT, default 8080)")
    serve.add_argument("--fixtures", action="append", metavar="DIR",
                       help="fixture set to load; repeat to layer sets, 'default' is the embedded one "
                            "(MOCKFLOW_FIXTURES, ':'-separated)")
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
    serve.add_argument("--max-namespaces", type=int, metavar="N",
                       help="namespaces (X-Mockflow-Namespace) one server may hold (MOCKFLOW_MAX_NAMESPACES, "
                            "default 64)")
    serve.add_argument("--fault-header", action=argparse.BooleanOptionalAction, default=None,
                       help="honour 'Prefer: code=NNN' one-off faults (MOCKFLOW_FAULT_HEADER; off by default)")
    serve.add_argument("--seed", type=int, help="seed of the random source (MOCKFLOW_SEED, default 0)")
    serve.add_argument("--simulation", choices=SIMULATION_MODES,
                       help="how runs move: real time (default for serve), virtual (with the clock) or off "
                            "(MOCKFLOW_SIMULATION)")
    serve.add_argument("--simulation-speed", type=float, metavar="X",
                       help="real-time speed-up of task durations and delays (MOCKFLOW_SIMULATION_SPEED, default 60)")


def _add_limit_flags(serve: argparse.ArgumentParser) -> None:
    for name in LIMITS:
        serve.add_argument(SETTING_FLAGS[name], dest=name, type=int, metavar="N",
                           help=f"{_LIMIT_HELP[name]} ({env_name(name)})")


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


def _refuse(message: object) -> int:
    """A user's mistake: one line naming what is wrong, no traceback, exit 2 (argparse's code)."""
    print(f"mockflow: {message}", file=sys.stderr)
    return 2


def check_fixtures(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    progress = ProgressLine("checking", "DAG files")
    try:
        state, problems = check_fixture_sets(_resolve_defaults(args.directories), progress)
    finally:
        progress.close()
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
    progress = ProgressLine("generating", "DAGs")
    try:
        counts = tool.generate_set(tool.GeneratorSettings(dags=args.dags, runs_per_dag=args.runs_per_dag,
                                                          tasks_per_dag=args.tasks_per_dag, seed=args.seed,
                                                          fmt=args.format), args.out, progress)
    except (ValueError, OSError) as error:
        return _refuse(error)
    finally:
        progress.close()
    print(f"wrote {args.out}: " + ", ".join(f"{count} {name}" for name, count in counts.items()))
    return 0


def capture(args: argparse.Namespace) -> int:
    tool = _tool("capture")
    options = tool.CaptureOptions(url=args.url, user=args.user, password=args.password, max_runs=args.max_runs,
                                  logs=not args.no_logs, timeout=args.timeout)
    progress = ProgressLine("capturing", "DAGs")
    try:
        counts = tool.capture_to(options, args.out, progress=progress.say)
    except tool.CaptureError as error:
        print(f"mockflow: {error}", file=sys.stderr)
        return 1
    finally:
        progress.close()
    print(f"captured {args.url} into {args.out}: " + ", ".join(f"{count} {name}" for name, count in counts.items()))
    return 0


def _resolve_defaults(names: Sequence[str]) -> list[str]:
    """`default` names the embedded set, so `--fixtures default --fixtures ./mine` layers a set on it."""
    return [str(default_fixture_dir()) if name == "default" else name for name in names]


def serve_settings(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> Settings:
    """The settings `mockflow serve` runs with: defaults, then MOCKFLOW_* variables, then flags."""
    env = os.environ if environ is None else environ
    overrides = {name: getattr(args, name, None) for name in SETTING_FLAGS}
    overrides["fixtures"] = tuple(args.fixtures) if args.fixtures else None
    # a served mock runs its DAGs: real time unless a flag or MOCKFLOW_SIMULATION says otherwise
    if overrides["simulation"] is None and env_name("simulation") not in env:
        overrides["simulation"] = "real"
    settings = Settings.from_env(env, flags=SETTING_FLAGS, **overrides)
    where = SETTING_FLAGS["fixtures"] if args.fixtures else env_name("fixtures")
    for name in settings.fixtures:
        if name != "default" and not Path(name).is_dir():
            raise SettingError("fixtures", f"{name!r}: fixture set not found (expected a directory)", where)
    return settings


def serve(args: argparse.Namespace) -> int:
    try:
        settings = serve_settings(args)
    except ValueError as error:
        return _refuse(error)
    logging.config.dictConfig(log_config(settings.log_level, settings.log_format))
    try:
        listener = listen(settings.host, settings.port)  # before a large set loads: a busy port fails at once
    except ServerError as error:
        return _refuse(error)
    progress = ProgressLine("loading", "DAG files")
    try:
        app = _build_app(settings, progress)
    except FixtureError as error:
        listener.close()
        return _refuse(error)
    finally:
        progress.close()
    if args.gc_freeze:
        # What exists now (modules, spec, validators, the seeded store) lives as long as the process:
        # out of the collector's sight, a full collection under a write load walks only what requests added.
        # No collection first: start-up makes no garbage cycles (a full collection here freed nothing,
        # in 25 ms for the default set and 1.2 s for a million task instances).
        gc.freeze()
        Store.freeze_new_states = True  # and each state a reset thaws or an import brings
    try:
        config = uvicorn_config(app, host=settings.host, port=settings.port, log_level=settings.log_level,
                                http=args.http, loop=args.loop,
                                log_config=log_config(settings.log_level, settings.log_format))
    except ServerError as error:
        listener.close()
        return _refuse(error)
    # a banner, then one access-log line per request
    QuietExitServer(config, settings, app.store.state).run(sockets=[listener])
    return 0


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so that a wrong --host or a busy --port is one line, not
    uvicorn's log and exit 1. IPPROTO_TCP, not 0: asyncio turns Nagle off only on sockets that
    say they are TCP."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except (OSError, OverflowError) as error:
        listener.close()
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise ServerError(f"cannot listen on {host}:{port} (--host/--port, MOCKFLOW_HOST/MOCKFLOW_PORT): "
                          f"{reason}") from None
    return listener


def _build_app(settings: Settings, progress: ProgressLine) -> MockflowApp:
    """The app over a store seeded here, so a large set's load can show its progress."""
    resolved = replace(settings, fixtures=tuple(_resolve_defaults(settings.fixtures)))
    store = seeded_store(resolved.fixtures, progress)
    store.clock = Clock(seed=resolved.seed)  # as create_app does for the store it seeds itself
    return create_app(resolved, store=store)


class QuietExitServer(uvicorn.Server):
    """uvicorn re-raises SIGINT/SIGTERM once it has shut down, so the process dies of the signal
    (exit 143 in a container). A mock server stopped on purpose has done nothing wrong: exit 0.
    Once it listens, it logs the banner with the bound address (port 0 is known only then)."""

    def __init__(self, config: uvicorn.Config, settings: Settings, state: State) -> None:
        super().__init__(config)
        self.settings = settings
        self.state = state

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            log_banner(self._banner(), self.settings.log_format == "json")

    def _banner(self) -> Banner:
        host, port = self.settings.host, self.settings.port
        for server in self.servers:
            for bound in server.sockets:
                host, port = bound.getsockname()[:2]
        shown = f"[{host}]" if ":" in str(host) else str(host)
        names = tuple(self.settings.fixtures)
        return make_banner(self.settings, self.state, names, f"http://{shown}:{port}", __version__)

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
