"""When the simulation learnt that a run or a task instance entered its current state.

A move the simulation makes is marked at its exact time. A change it did not make (a trigger, a
clear, a fixture) is noticed when it first looks, and counts from its next scheduler loop, one
`SCHEDULER_DELAY` later: like Airflow's scheduler, it never reacts within the same instant.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Generic, TypeVar

from mockflow.values import value_class

K = TypeVar("K")

SCHEDULER_DELAY = timedelta(seconds=1)  # one scheduler loop
EXECUTOR_DELAY = timedelta(seconds=1)  # from queued to a worker running the try


@value_class(frozen=True, slots=True)
class Mark:
    state: str | None
    try_number: int
    since: datetime


class Marks(Generic[K]):
    """Marks by key; a mark whose state or try number no longer matches the record is stale."""

    def __init__(self) -> None:
        self._marks: dict[K, Mark] = {}

    def since(self, key: K, state: str | None, try_number: int, seen: datetime, loop: timedelta) -> datetime:
        """When the record entered (state, try_number): noticed at `seen` when unknown or stale."""
        mark = self._marks.get(key)
        if mark is None or mark.state != state or mark.try_number != try_number:
            mark = Mark(state, try_number, seen + loop)
            self._marks[key] = mark
        return mark.since

    def set(self, key: K, state: str | None, try_number: int, at: datetime) -> None:
        self._marks[key] = Mark(state, try_number, at)

    def drop(self, key: K) -> None:
        self._marks.pop(key, None)

    def clear(self) -> None:
        self._marks.clear()

    def __len__(self) -> int:
        return len(self._marks)
