"""`Simulation`: the simulated scheduler of one store, its time mode and its run-time scripts.

Modes: `virtual` (the default in tests) follows the store's clock only while it is frozen, so
time moves when the clock is set or advanced, or on `run_until_idle`; `real` follows the clock
as it runs, every delay and duration divided by `speed`; `off` never moves anything. Catching
up replays every move due between the last look and now, in time order, under the store's lock.
"""

from __future__ import annotations

import threading
import time
import weakref
from datetime import datetime, timedelta
from typing import Literal

from mockflow.clock import Clock
from mockflow.simulation.marks import SCHEDULER_DELAY
from mockflow.simulation.scheduler import Scheduler
from mockflow.simulation.scripts import ScriptBook
from mockflow.store import Store
from mockflow.store.state import State

Mode = Literal["virtual", "real", "off"]
MODES: tuple[Mode, ...] = ("virtual", "real", "off")
IDLE_LIMIT = 100_000  # instants one `run_until_idle` may visit (a guard against runaway scripts)
REAL_TIME_BUDGET = 0.05  # seconds of simulation work one request may wait for in real time


class Simulation:
    def __init__(self, mode: Mode = "virtual", speed: float = 1.0) -> None:
        self.book = ScriptBook()
        self.scheduler = Scheduler(self.book)
        self.cursor: datetime | None = None  # how far the simulation has replayed
        self._state_key: tuple[int, int] | None = None
        self.mode: Mode = mode
        self.speed = speed
        self.configure(mode, speed)

    def configure(self, mode: Mode, speed: float) -> None:
        if mode not in MODES:
            raise ValueError(f"simulation mode must be one of {', '.join(MODES)}, not {mode!r}")
        if speed <= 0:
            raise ValueError(f"simulation speed must be above 0, not {speed}")
        self.mode, self.speed = mode, speed
        self.scheduler.scale = 1 / speed if mode == "real" else 1.0

    def follows(self, clock: Clock) -> bool:
        """Whether requests make it catch up to the clock."""
        return self.mode == "real" or (self.mode == "virtual" and clock.frozen)

    def _same_state(self, state: State, now: datetime) -> None:
        # An imported state is another object, and an undo-log reset keeps the object but counts
        # itself: either way, what was marked belongs to a state that is gone.
        key = (id(state), state.changes.undone)
        if self._state_key != key or self.cursor is None or now < self.cursor:
            self.scheduler.forget()
            self._state_key, self.cursor = key, now

    def observe(self, state: State, now: datetime) -> None:
        """Notices what changed without it (a trigger, a clear): it counts from the next loop."""
        if self.mode == "off":
            return
        self.scheduler.rescan()
        self._look(state, now)

    def _look(self, state: State, now: datetime) -> None:
        self._same_state(state, now)
        for _ in self.scheduler.pending(state, now, self.scheduler.scaled(SCHEDULER_DELAY)):
            pass

    def catch_up(self, state: State, now: datetime, budget: float | None = REAL_TIME_BUDGET) -> int:
        """Every move due by `now`, in time order; returns how many were made.

        In real time a request waits for at most `budget` seconds of this work: past it the
        simulation stops at the instant it reached and lags behind the clock, as an overloaded
        scheduler does (a catch-up of months of daily runs at 60x would otherwise hold a request
        for minutes). Later requests carry on from there. Virtual time always goes all the way."""
        if self.mode == "off":
            return 0
        self._same_state(state, now)
        assert self.cursor is not None
        self._look(state, self.cursor)
        deadline = time.perf_counter() + budget if budget is not None and self.mode == "real" else None
        moves, at, start = 0, self.cursor, self.cursor
        while True:
            moves += self.scheduler.step(state, at)
            if deadline is not None and at > start and time.perf_counter() > deadline:
                self.cursor = at  # each catch-up gets at least one instant further
                return moves
            upcoming = self.scheduler.next_due(state, at)
            if upcoming is None or upcoming > now:
                break
            at = upcoming
        self.cursor = now
        return moves

    def run_until_idle(self, store: Store, limit: int = IDLE_LIMIT) -> tuple[int, int]:
        """Moves the clock from one due move to the next until nothing is left to do; returns
        (moves made, instants visited)."""
        with store.lock:
            moves, instants = self.catch_up(store.state, store.clock.now(), budget=None), 0
            self.scheduler.horizon = store.clock.now()
            try:
                while instants < limit:
                    upcoming = self.scheduler.next_due(store.state, store.clock.now())
                    if upcoming is None:
                        break
                    store.clock.advance(max(upcoming - store.clock.now(), timedelta(0)))
                    moves += self.catch_up(store.state, max(upcoming, store.clock.now()), budget=None)
                    instants += 1
            finally:
                self.scheduler.horizon = None
            return moves, instants


def mode_of(name: str) -> Mode:
    for mode in MODES:
        if mode == name:
            return mode
    raise ValueError(f"simulation mode must be one of {', '.join(MODES)}, not {name!r}")


_simulations: weakref.WeakKeyDictionary[Store, Simulation] = weakref.WeakKeyDictionary()
_registry_lock = threading.Lock()


def simulation_of(store: Store, mode: Mode = "virtual", speed: float = 1.0) -> Simulation:
    """The simulation of `store`, made with `mode` and `speed` on first use."""
    found = _simulations.get(store)  # every request asks: no lock once it exists
    if found is not None:
        return found
    with _registry_lock:
        simulation = _simulations.get(store)
        if simulation is None:
            simulation = _simulations[store] = Simulation(mode, speed)
        return simulation
