"""The in-memory store: one lock, the live `State`, and the pristine copy a reset brings back.

The store knows nothing of HTTP. Business rules live in the domain modules beside this one
(`store/pools.py`, `store/dag_runs.py`, ...), which take the `State` they change.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from mockflow.clock import Clock
from mockflow.store.state import State

__all__ = ["State", "Store"]


class Store:
    def __init__(self, state: State | None = None, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self._pristine = state if state is not None else State()
        self.state = copy.deepcopy(self._pristine)
        # Re-entrant: a store method may call another while holding it. Never held across an await.
        self.lock = threading.RLock()

    @contextmanager
    def locked(self) -> Iterator[State]:
        with self.lock:
            yield self.state

    def reset(self, state: State | None = None) -> None:
        """Back to the seeded state (or to a new seed), by swapping in a copy of the pristine one."""
        with self.lock:
            if state is not None:
                self._pristine = state
            self.state = copy.deepcopy(self._pristine)

    def snapshot(self) -> State:
        with self.lock:
            return copy.deepcopy(self.state)
