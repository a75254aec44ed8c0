"""Namespaces: independent stores in one server, chosen per request by a header.

Each namespace has its own store (seeded from the app's pristine seed), clock, journal and
faults, so pytest-xdist workers or parallel CI jobs can share one service container without
seeing each other. The default namespace is the app's own store.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import field

from mockflow.control.faults import Faults
from mockflow.control.journal import Journal
from mockflow.problems import BadRequest
from mockflow.store import Store
from mockflow.values import value_class

HEADER = "x-mockflow-namespace"
DEFAULT = "default"
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


@value_class
class Namespace:
    name: str
    store: Store
    journal: Journal
    faults: Faults = field(default_factory=Faults)


class Namespaces:
    """The namespaces of one app, created on first use (at most `limit` of them)."""

    def __init__(self, default: Namespace, make_store: Callable[[], Store], journal_limit: int, limit: int) -> None:
        self._spaces = {DEFAULT: default}
        self._make_store = make_store
        self._journal_limit = journal_limit
        self._limit = limit
        self._lock = threading.Lock()

    @property
    def default(self) -> Namespace:
        return self._spaces[DEFAULT]

    def names(self) -> list[str]:
        return list(self._spaces)

    def get(self, name: str | None) -> Namespace:
        """The namespace a header names (None: the default), created from the seed if new."""
        if name is None or name == DEFAULT:
            return self._spaces[DEFAULT]
        space = self._spaces.get(name)
        if space is not None:
            return space
        if not _NAME.fullmatch(name):
            raise BadRequest(f"Invalid namespace {name!r}: use 1 to 64 letters, digits, '_', '.' or '-'",
                             title="Invalid X-Mockflow-Namespace header")
        with self._lock:
            if name not in self._spaces:
                if len(self._spaces) >= self._limit:
                    raise BadRequest(f"This server holds at most {self._limit} namespaces",
                                     title="Too many namespaces")
                self._spaces[name] = Namespace(name, self._make_store(), Journal(limit=self._journal_limit))
            return self._spaces[name]
