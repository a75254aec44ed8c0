"""What a handler receives (`Call`) and may return (`Reply`, or plain data for a 200 JSON answer)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from datetime import datetime
from typing import Any

from mockflow.auth import Caller
from mockflow.clock import Clock
from mockflow.settings import Settings
from mockflow.spec import Operation
from mockflow.store import Store
from mockflow.store.state import State
from mockflow.values import value_class


@value_class(slots=True)
class Call:
    op: Operation
    path: dict[str, Any]  # typed path parameters
    query: dict[str, Any]  # typed query parameters, defaults filled in
    body: Any  # parsed JSON body (None when the operation takes none)
    raw_query: list[tuple[str, str]]  # as sent, in order (audit rows quote it)
    caller: Caller
    store: Store
    state: State  # the live state; the store lock is held while the handler runs
    settings: Settings
    headers: Mapping[str, str]
    now: datetime  # one instant per request

    @property
    def clock(self) -> Clock:
        return self.store.clock

    def accepts(self) -> str | None:
        return self.headers.get("accept")


@value_class(slots=True)
class Reply:
    """A non-default answer: another status, no body, or text instead of JSON."""

    status: int = 200
    body: Any = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    # JSON bodies are checked against the spec; raw text and empty bodies have nothing to check.
    validate: bool = True
    # Set by fault rules: wait this long before answering; or break the connection instead.
    delay_ms: int = 0
    disconnect: str | None = None  # drop | reset | truncate


NO_CONTENT = Reply(status=204, content_type="application/json", validate=False)
