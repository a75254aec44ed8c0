"""A live mockflow on a real socket: uvicorn in a background thread, for tests and the pytest plugin.

    with LiveServer(create_app(Settings(fixtures=...))) as server:
        httpx.get(server.url + "/api/v1/health")

Port 0 (the default) lets the OS pick a free port; `url` is the bound address once `start()`
returns. `stop()` asks uvicorn to finish the requests in flight and joins the thread.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from types import TracebackType

import uvicorn

from mockflow.app import MockflowApp

STARTUP_TIMEOUT = 10.0


class ServerError(RuntimeError):
    """The server did not start, or stopped with an error."""


class LiveServer:
    def __init__(self, app: MockflowApp, host: str = "127.0.0.1", port: int = 0,
                 log_level: str = "warning") -> None:
        self.app = app
        self.host = host
        self.port = port
        self.ready = threading.Event()
        self._config = uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="off",
                                      access_log=False)
        self._server = _ThreadServer(self._config, self.ready)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        """`http://host:port`, the bound address (known once started)."""
        if not self.ready.is_set():
            raise ServerError("the server is not running")
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = STARTUP_TIMEOUT) -> LiveServer:
        if self._thread is not None:
            raise ServerError("the server was already started")
        # Bind here, in the caller's thread: a busy port fails at once, and port 0 is resolved.
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
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
            asyncio.run(self._server.serve(sockets=[self._socket]))
        except BaseException as error:  # reported by start()/stop() in the caller's thread
            self._error = error

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()


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
