"""The in-memory store: one lock, the live `State`, and the pristine seed a reset brings back.

A reset undoes what changed since the last one (the state's undo log, `store/changes.py`); the
pristine seed is restored whole only when the log cannot lead back to it.

The seed is kept as a pickle, not as a second object graph: restoring it is one C-speed
`pickle.loads` (about three times faster than `copy.deepcopy`, identity of shared records kept),
and it takes less than half the memory of live objects. That matters at scale: a million task
instances would otherwise cost ~25 s to copy and twice the memory.

The store knows nothing of HTTP. Business rules live in the domain modules beside this one
(`store/pools.py`, `store/dag_runs.py`, ...), which take the `State` they change.
"""

from __future__ import annotations

import dataclasses
import gc
import mmap
import pickle
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar

from mockflow.clock import Clock
from mockflow.store.changes import limit_for
from mockflow.store.restored import check_restored
from mockflow.store.state import State

__all__ = ["Seed", "State", "Store", "freeze", "thaw"]

# A frozen state: the bytes `freeze` made, or a seed file mapped into memory (cache.py), which
# thaws without first copying hundreds of megabytes into the process.
Seed = bytes | mmap.mmap


@contextmanager
def _collector_paused() -> Iterator[None]:
    # Pickling a million records triggers the cyclic collector over and over while it finds
    # nothing to free; pausing it makes freezing and restoring two to three times faster.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def freeze(state: State) -> bytes:
    """A seed: the state as bytes that `Store` can restore any number of times."""
    with _collector_paused():
        return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)


def thaw(seed: Seed) -> State:
    with _collector_paused():
        state: State = pickle.loads(seed)
        if len(seed) >= PROMOTED_SEED_BYTES:
            _promote_to_oldest()
        return state


# From about this size a young collection walking a thawed state is felt (a 1M-TI seed: 300 MB).
PROMOTED_SEED_BYTES = 8 << 20


def _promote_to_oldest() -> None:
    """A thawed state lives long, but its objects are born in the youngest generation: the next
    young collection would walk all of them (a second for a million task instances, in the middle
    of `create_app`) and the one after that again. `freeze` then `unfreeze` moves every tracked
    object to the oldest generation at once, where only full collections look. Only for large
    seeds (a small one is walked in no time, and promoting also ages the process's young
    garbage), and not when something is frozen already (`mockflow serve` freezes what it built,
    and each new state, for good): unfreezing would undo that."""
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()


class Store:
    """Takes ownership of `seed` when given a State (it becomes the live state); given bytes from
    `freeze`, each store restores its own live copy, so many apps can share one seed.

    The live state records every write in its undo log (`store/changes.py`), so `reset` undoes
    what changed since the last one. `verify=True` checks each such reset against a fresh thaw
    of the seed (a test option: it costs a thaw per reset); `Store.verify_all` turns it on for
    every store of the process (the test suite does)."""

    verify_all: ClassVar[bool] = False
    # `mockflow serve` freezes what exists once its app is built (cli.py), and sets this: a state
    # thawed or imported later is frozen likewise, so a full collection during a write load walks
    # what requests added, not a whole restored state again and again.
    freeze_new_states: ClassVar[bool] = False

    def __init__(self, seed: State | Seed | None = None, clock: Clock | None = None, *,
                 verify: bool = False) -> None:
        self.clock = clock or Clock()
        self.verify = verify or self.verify_all
        if isinstance(seed, Seed):
            self._pristine: Seed = seed
            state = thaw(seed)
        else:
            state = seed if seed is not None else State()
            self._pristine = freeze(state)
        self._own(state, from_seed=True)
        # Re-entrant: a store method may call another while holding it. Never held across an await.
        self.lock = threading.RLock()

    def _own(self, state: State, *, from_seed: bool) -> None:
        self.state = state
        state.attach_changes()
        state.changes.limit = limit_for(len(self._pristine))
        state.changes.start()
        self._undoable = from_seed  # the log leads back to the seed only from a state thawed from it
        self._sizes = _sizes(state)

    def reset(self, seed: State | Seed | None = None) -> int | None:
        """Back to the seeded state (or to a new seed): by undoing the recorded changes, or by
        swapping in a fresh copy of the seed when the log cannot lead back to it.

        Returns how many recorded changes were rolled back, or None when the whole seed was restored."""
        with self.lock:
            if seed is not None:
                self._pristine = seed if isinstance(seed, Seed) else freeze(seed)
            elif self._undoable:
                undone = self.state.changes.undo()
                # Rows added or removed behind the log's back (a test writing to the state's
                # dicts directly) show in the tables' sizes: then only the seed is safe.
                if undone is not None and _sizes(self.state) == self._sizes:
                    if self.verify:
                        check_restored(self.state, thaw(self._pristine))
                    return undone
            self._own(thaw(self._pristine), from_seed=True)
            self._freeze_if_serving()
            return None

    def replace(self, state: State) -> None:
        """Serve `state` from now on; a reset still returns to the seed."""
        with self.lock:
            self._own(state, from_seed=False)
            self._freeze_if_serving()

    def _freeze_if_serving(self) -> None:
        if self.freeze_new_states:
            gc.collect()  # the replaced state's cycles (tables and their undo log) go first
            gc.freeze()

    def snapshot(self) -> State:
        """An independent copy of the live state (compare two with `==`)."""
        with self.lock:
            return thaw(freeze(self.state))

    @property
    def seed(self) -> Seed:
        """The frozen pristine state a reset restores."""
        return self._pristine


def _sizes(state: State) -> tuple[int, ...]:
    return tuple(len(getattr(state, field.name)) for field in dataclasses.fields(state) if field.compare)
