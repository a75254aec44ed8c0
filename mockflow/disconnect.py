"""Broken connections on purpose, for fault rules: drop, reset, or a truncated body.

On a live server (uvicorn) the response reaches the connection itself: `drop` closes it without
an answer, `reset` aborts it with a TCP RST, `truncate` sends the headers and half the body and
then closes. In-process there is no connection to break, so the transport sees
`FaultDisconnect` raised instead, which an httpx client reports as a failed request.
"""

from __future__ import annotations

import socket
import struct
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

RAW_SEND = "mockflow.raw_send"


class FaultDisconnect(ConnectionError):
    """A fault rule broke this in-process request's connection."""


class DisconnectResponse(Response):
    def __init__(self, how: str, answer: Response) -> None:
        super().__init__(status_code=answer.status_code)
        self.how = how
        self.answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        transport = _transport(scope.get(RAW_SEND))
        if transport is None:
            raise FaultDisconnect(f"mockflow fault: connection {self.how} ({scope.get('path')})")
        if self.how == "truncate":
            body = bytes(self.answer.body)
            await send({"type": "http.response.start", "status": self.answer.status_code,
                        "headers": self.answer.raw_headers})
            await send({"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True})
            transport.close()
            return
        if self.how == "reset":
            sock = transport.get_extra_info("socket")
            if sock is not None:
                # Linger on with a zero timeout: closing then sends RST instead of FIN.
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
            return
        transport.close()


def _transport(send: Any) -> Any:
    """uvicorn's send is a bound method of its request cycle, which holds the transport."""
    cycle = getattr(send, "__self__", None)
    return getattr(cycle, "transport", None)
