"""The undo log: every write to a live `State` records its inverse, so a reset costs what changed.

A `Store` switches the log on once it owns a state; while a state is being built (fixture
loading, generation) it is off and writes cost nothing extra. Writes go through the helpers here
(`set`, `put`, `pop`, `append`) or through the run and task-instance tables' methods, which
record their own inverses. `undo` replays the inverses newest first.

Order is part of the state: Airflow lists rows in table order, which is a dict's insertion order.
Putting back a deleted key appends it, which is right only if it was the last key. Otherwise the
first such delete from a dict in a cycle also records the dict's key order at that moment; when
the replay reaches that entry, every later change is undone, the keys are exactly those, and the
dict is rebuilt in that order (in place: other objects may hold it).

The log is not part of the state: it pickles as a fresh, empty, switched-off log, so seeds,
snapshots and thawed copies never carry one, and `State ==` ignores it.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any, TypeVar, overload

K = TypeVar("K")
V = TypeVar("V")
Undo = Callable[..., object]
# Past this many entries (about 40 MB) the log gives up and frees them: a reset then thaws the seed
# instead. Login counters are logged once per user and cycle (`set_once`), not per request.
DEFAULT_LIMIT = 250_000
MIN_LIMIT = 10_000


def limit_for(seed_bytes: int) -> int:
    """How long a log is worth keeping for a seed of this size. Undoing costs about 0.1 us an
    entry and thawing about 9 ns a seed byte (default set: 166 kB, 1.5 ms), so past roughly
    `seed_bytes / 8` entries a thaw is as quick, and the log would only hold memory (a
    long-running server's grew by 25 % in a 5-minute soak before this bound)."""
    return max(MIN_LIMIT, min(DEFAULT_LIMIT, seed_bytes // 8))
_MISSING: Any = object()


class Changes:
    __slots__ = ("_entries", "_reordered", "_set_once", "limit", "on", "overflowed", "undone")

    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self._entries: list[tuple[Undo, tuple[Any, ...]]] = []
        self._reordered: set[int] = set()  # ids of dicts whose key order this cycle has recorded
        self._set_once: set[tuple[int, str]] = set()  # (record id, field) whose first value is logged
        self.limit = limit
        self.on = False
        self.overflowed = False
        self.undone = 0  # how many times `undo` ran: a reset that kept the State object

    def __reduce__(self) -> tuple[type[Changes], tuple[()]]:
        return Changes, ()

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Changes(on={self.on}, entries={len(self._entries)}, overflowed={self.overflowed})"

    # --- the log itself ------------------------------------------------------------------------------

    def start(self) -> None:
        """Record from now on, with an empty log."""
        self._forget()
        self.on, self.overflowed = True, False

    def stop(self) -> None:
        self._forget()
        self.on = False

    def record(self, undo: Undo, *args: Any) -> None:
        """Remember that `undo(*args)` reverts the write about to happen (callers check `on` first)."""
        entries = self._entries
        entries.append((undo, args))
        if len(entries) > self.limit:
            self._forget()
            self.on, self.overflowed = False, True

    def undo(self) -> int | None:
        """Reverts every recorded write, newest first, and returns how many; None if the log
        gave up (then nothing is reverted). Recording continues afterwards with an empty log."""
        if self.overflowed:
            return None
        entries, recording = self._entries, self.on
        self.on = False
        try:
            for undo, args in reversed(entries):
                undo(*args)
        finally:
            self._forget()
            self.on = recording
        self.undone += 1
        return len(entries)

    def _forget(self) -> None:
        self._entries = []
        self._reordered.clear()
        self._set_once.clear()

    # --- writes --------------------------------------------------------------------------------------

    def set(self, record: object, **fields: Any) -> None:
        """`record.field = value` for each field (records, tables' flags, the State's attributes)."""
        if self.on:
            for name in fields:
                self.record(setattr, record, name, getattr(record, name))
        for name, value in fields.items():
            setattr(record, name, value)

    def set_once(self, record: object, **fields: Any) -> None:
        """As `set`, logging only a field's first value in a cycle: for counters that every request
        moves (login counts) and that no other inverse reads, so the log stays as small as the
        set of fields touched. The logged entry holds the record, so its id cannot be reused."""
        if self.on:
            for name in fields:
                seen = (id(record), name)
                if seen not in self._set_once:
                    self._set_once.add(seen)
                    self.record(setattr, record, name, getattr(record, name))
        for name, value in fields.items():
            setattr(record, name, value)

    def put(self, table: MutableMapping[K, V], key: K, value: V) -> None:
        """`table[key] = value`: a new key goes last, an existing one keeps its place."""
        if self.on:
            old = table.get(key, _MISSING)
            if old is _MISSING:
                self.record(_delete, table, key)
            else:
                self.record(_put_back, table, key, old)
        table[key] = value

    @overload
    def pop(self, table: dict[K, V], key: K) -> V: ...

    @overload
    def pop(self, table: dict[K, V], key: K, default: V | None) -> V | None: ...

    def pop(self, table: dict[K, V], key: K, default: V | None = _MISSING) -> V | None:
        """`table.pop(key[, default])`; undoing it puts the key back in its place."""
        if key not in table:
            if default is _MISSING:
                raise KeyError(key)
            return default
        if self.on:
            self.note_removal(table, key)
            self.record(_put_back, table, key, table[key])
        return table.pop(key)

    def note_removal(self, table: dict[Any, Any], key: object) -> None:
        """Before `key` leaves `table` (logging on): keep the key order if putting it back at the
        end would not restore it."""
        if id(table) not in self._reordered and next(reversed(table)) != key:
            self._reordered.add(id(table))
            self.record(_reorder, table, list(table))

    def append(self, items: list[V], item: V) -> None:
        if self.on:
            self.record(_truncate, items, len(items))
        items.append(item)


def _delete(table: MutableMapping[Any, Any], key: object) -> None:
    del table[key]


def _put_back(table: MutableMapping[Any, Any], key: object, value: object) -> None:
    table[key] = value


def _reorder(table: dict[Any, Any], keys: list[Any]) -> None:
    ordered = [(key, table[key]) for key in keys]
    table.clear()
    table.update(ordered)


def _truncate(items: list[Any], length: int) -> None:
    del items[length:]
