"""A live mockflow on a real socket: uvicorn in a background thread, for tests and the pytest plugin.

    with LiveServer(create_app(Settings(fixtures=...))) as server:
        httpx.get(server.url + "/api/v1/health")

Port 0 (the default) lets the OS pick a free port; `url` is the bound address once `start()`
returns. `stop()` asks uvicorn to finish the requests in flight and joins the thread. `http` and
`loop` choose uvicorn's parser and event loop ("auto": httptools and uvloop where installed,
else h11 and asyncio), as `mockflow serve --http/--loop` does.
"""

from __future__ import annotations

import asyncio
import importlib
import socket
import threading
from types import TracebackType
from typing import Any

import uvicorn

from mockflow.app import MockflowApp

STARTUP_TIMEOUT = 10.0
HTTP_CHOICES = ("auto", "h11", "httptools")
LOOP_CHOICES = ("auto", "asyncio", "uvloop")


class ServerError(RuntimeError):
    """The server did not start, or stopped with an error."""


class LiveServer:
    def __init__(self, app: MockflowApp, host: str = "127.0.0.1", port: int = 0,
                 log_level: str = "warning", http: str = "auto", loop: str = "auto") -> None:
        self.app = app
        self.host = host
        self.port = port
        self.ready = threading.Event()
        self._config = uvicorn_config(app, host=host, port=port, log_level=log_level, http=http, loop=loop,
                                      access_log=False)
        self._server = _ThreadServer(self._config, self.ready)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._socket: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def url(self) -> str:
        """`http://host:port`, the bound address (known once started)."""
        if not self.ready.is_set():
            raise ServerError("the server is not running")
        return f"http://{self.host}:{self.port}"

    @property
    def protocols(self) -> tuple[str, str]:
        """What serves: the HTTP protocol class and the event loop class, e.g. `("H11Protocol",
        "_UnixSelectorEventLoop")` or `("HttpToolsProtocol", "Loop")` (uvloop's)."""
        if not self.ready.is_set() or self._loop is None:
            raise ServerError("the server is not running")
        return self._config.http_protocol_class.__name__, type(self._loop).__name__

    def start(self, timeout: float = STARTUP_TIMEOUT) -> LiveServer:
        if self._thread is not None:
            raise ServerError("the server was already started")
        # Bind here, in the caller's thread: a busy port fails at once, and port 0 is resolved.
        # IPPROTO_TCP, not 0: asyncio turns Nagle off only on sockets that say they are TCP, and a
        # client in this same process otherwise waits ~40 ms for each delayed ACK.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._socket.bind((self.host, self.port))
        except OSError as error:
            self._socket.close()
            raise ServerError(f"cannot listen on {self.host}:{self.port}: {error}") from error
        self.port = self._socket.getsockname()[1]
        self._thread = threading.Thread(target=self._run, name=f"mockflow-{self.port}", daemon=True)
        self._thread.start()
        if not self.ready.wait(timeout) or not self._thread.is_alive():
            self.stop()
            raise ServerError(f"mockflow did not start within {timeout}s: {self._error!r}")
        return self

    def stop(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Finishes the requests in flight, closes the socket and joins the thread (idempotent)."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
        self.ready.clear()
        if self._error is not None:
            raise ServerError(f"mockflow stopped with an error: {self._error!r}") from self._error

    def _run(self) -> None:
        assert self._socket is not None
        try:
            with asyncio.Runner(loop_factory=self._config.get_loop_factory()) as runner:
                self._loop = runner.get_loop()
                runner.run(self._server.serve(sockets=[self._socket]))
        except BaseException as error:  # reported by start()/stop() in the caller's thread
            self._error = error

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()


def uvicorn_config(app: MockflowApp, *, host: str, port: int, log_level: str, http: str = "auto",
                   loop: str = "auto", access_log: bool = True,
                   log_config: dict[str, Any] | None = None) -> uvicorn.Config:
    """uvicorn's settings for mockflow: no lifespan, no websockets (the API has none), and the
    parser and loop asked for (a named one that is not installed fails here, not at the first request)."""
    if http not in HTTP_CHOICES or loop not in LOOP_CHOICES:
        raise ServerError(f"unknown http {http!r} or loop {loop!r}: choose from {HTTP_CHOICES} and {LOOP_CHOICES}")
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="off", ws="none",
                            http=http, loop=loop, access_log=access_log,
                            log_config=log_config if log_config is not None else uvicorn.config.LOGGING_CONFIG)
    try:
        config.get_loop_factory()
        if http == "httptools":
            importlib.import_module("httptools")
    except ImportError as missing:
        raise ServerError(f"{http}/{loop} asked for, but {missing.name} is not installed") from missing
    return config


class _ThreadServer(uvicorn.Server):
    """Signals belong to the main thread; this one sets `ready` once it listens."""

    def __init__(self, config: uvicorn.Config, ready: threading.Event) -> None:
        super().__init__(config)
        self._ready = ready

    def install_signal_handlers(self) -> None:  # uvicorn < 0.29
        return

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self._ready.set()
