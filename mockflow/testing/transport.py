"""A synchronous httpx transport that calls an ASGI app in-process: no socket, no thread.

httpx only ships an async ASGI transport, and Starlette's TestClient warns under `-W error` with
plain httpx; this one runs each request to completion on a private event loop. Called from inside
a running loop (a sync client in an async test), it runs the request on a short-lived thread
instead, since one thread cannot run two loops.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import MutableMapping
from typing import Any

import httpx
from starlette.types import ASGIApp

from mockflow.disconnect import FaultDisconnect

Message = MutableMapping[str, Any]


class SyncASGITransport(httpx.BaseTransport):
    def __init__(self, app: ASGIApp, client: tuple[str, int] = ("127.0.0.1", 123)) -> None:
        self.app = app
        self.client = client
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        if _loop_running():
            return _in_thread(self, request, body)
        with self._lock:  # one loop, one request at a time: calls from several threads queue up
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
            return self._loop.run_until_complete(self.call(request, body))

    async def call(self, request: httpx.Request, body: bytes) -> httpx.Response:
        """Runs the app on one request, the way a server would, and collects its answer."""
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": request.method,
            "headers": [(key.lower(), value) for key, value in request.headers.raw],
            "scheme": request.url.scheme, "path": request.url.path,
            "raw_path": request.url.raw_path.split(b"?")[0], "query_string": request.url.query,
            "server": (request.url.host, request.url.port), "client": self.client, "root_path": "",
        }
        pending = [{"type": "http.request", "body": body, "more_body": False}]
        started: Message = {}
        chunks: list[bytes] = []

        async def receive() -> Message:
            return pending.pop() if pending else {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
            elif message["type"] == "http.response.body" and request.method != "HEAD":
                chunks.append(message.get("body", b""))

        try:
            await self.app(scope, receive, send)
        except FaultDisconnect as broken:  # what an httpx client sees when a server drops the line
            raise httpx.RemoteProtocolError(str(broken), request=request) from broken
        return httpx.Response(started["status"], headers=started.get("headers", []), content=b"".join(chunks),
                              request=request)

    def close(self) -> None:
        with self._lock:
            if self._loop is not None:
                self._loop.close()
                self._loop = None


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _in_thread(transport: SyncASGITransport, request: httpx.Request, body: bytes) -> httpx.Response:
    outcome: list[httpx.Response] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            outcome.append(asyncio.run(transport.call(request, body)))
        except BaseException as error:  # re-raised in the caller's thread
            failure.append(error)

    worker = threading.Thread(target=work, name="mockflow-request")
    worker.start()
    worker.join()
    if failure:
        raise failure[0]
    return outcome[0]
