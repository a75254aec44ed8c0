"""The one source of time and of randomness. Nothing else calls `datetime.now` or `uuid4`."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta


class Clock:
    """Wall-clock time by default; can be frozen, set and advanced (tests, simulation)."""

    def __init__(self, seed: int = 0, frozen_at: datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._seed = seed
        self._frozen_at = frozen_at
        self._offset = timedelta(0)
        self.random = random.Random(seed)

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def reset(self) -> None:
        """Back to the wall clock, unfrozen, and the random source back to its seed."""
        with self._lock:
            self._frozen_at = None
            self._offset = timedelta(0)
            self.random.seed(self._seed)

    def now(self) -> datetime:
        with self._lock:
            if self._frozen_at is not None:
                return self._frozen_at
            return datetime.now(UTC) + self._offset

    def freeze(self, at: datetime | None = None) -> None:
        current = self.now()
        with self._lock:
            self._frozen_at = at or current

    def unfreeze(self) -> None:
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - datetime.now(UTC)
            self._frozen_at = None

    def set(self, at: datetime) -> None:
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = at
            else:
                self._offset = at - datetime.now(UTC)

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += delta
            else:
                self._offset += delta
