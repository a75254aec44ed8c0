"""The `mockflow` command: `serve` (and the fixture commands of later issues)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
from collections.abc import Iterator, Sequence

import uvicorn

from mockflow.settings import AUTH_MODES, VALIDATION_ENGINES, Settings


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
    serve.add_argument("--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return 2  # pragma: no cover - argparse requires a command


def serve(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env(
            host=args.host,
            port=args.port,
            fixtures=tuple(args.fixtures) if args.fixtures else None,
            auth=args.auth,
            expose_config=args.expose_config,
            validation=args.validation,
        )
    except ValueError as error:
        print(f"mockflow: {error}", file=sys.stderr)
        return 2
    from mockflow.app import create_app
    from mockflow.store.fixtures import FixtureError

    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    try:
        app = create_app(settings)
    except FixtureError as error:
        print(f"mockflow: {error}", file=sys.stderr)
        return 2
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level=args.log_level, lifespan="off")
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
