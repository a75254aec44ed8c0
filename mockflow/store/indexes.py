"""The two kinds of index the tables keep besides their per-DAG and per-run buckets.

`Buckets`: rows grouped by a value (a state; a pool, state and priority weight; a queue), each
group in table order, which the unordered lists show. A group receives rows out of order when
their values change; it is put back in order on its next read, by `id` while the ids follow
insertion, otherwise by a scan of the table.

`SortedRows`: rows in order of a field (a date, a duration), for the `_gte`/`_lte` ranges, cheap
to change at a million rows. A plain sorted list moves every later entry on an insert or removal
in its middle (about a millisecond at a million); here the rows sit in consecutive chunks of at
most 2 x `_CHUNK`, so a change moves one chunk's worth, found by bisecting the chunks' last rows.
"""

from __future__ import annotations

import bisect
import heapq
import operator
from array import array
from collections.abc import Callable, Collection, Hashable, Iterable, Iterator, KeysView
from datetime import UTC, datetime, timedelta
from itertools import chain, islice
from typing import Any, Generic, Protocol, TypeVar

G = TypeVar("G", bound=Hashable)


class Row(Protocol):
    @property
    def id(self) -> int: ...


R = TypeVar("R", bound=Row)


class Buckets(Generic[G, R]):
    """Rows grouped by a value; `rows` gives one group in table order. Empty groups are dropped,
    so `groups` names only values some row has.

    A group is a plain list of its rows until a row leaves it; from then on it is a dict keyed by
    each row's identity (the table holds the row, so its `id()` is its own while it is here), so
    that taking a row out costs no search. Most groups only ever grow (rows arrive as runs are
    made and as task instances finish), and a seed holds them as lists, which thaw at C speed:
    a million rows cost a hundredth of a second as a list and most of a second as a dict."""

    __slots__ = ("_groups", "_unsorted")

    def __init__(self) -> None:
        self._groups: dict[G, list[R] | dict[int, R]] = {}
        self._unsorted: set[G] = set()  # groups to put in order before their next read

    def __getstate__(self) -> tuple[dict[G, list[R]], set[G]]:
        return {group: _as_list(bucket) for group, bucket in self._groups.items()}, self._unsorted

    def __setstate__(self, saved: tuple[dict[G, list[R]], set[G]]) -> None:
        groups, self._unsorted = saved
        self._groups = dict(groups)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Buckets) and self.__getstate__()[0] == other.__getstate__()[0]

    __hash__ = None  # type: ignore[assignment]

    def groups(self) -> KeysView[G]:
        return self._groups.keys()

    def count(self, group: G) -> int:
        return len(self._groups.get(group) or ())

    def put(self, group: G, row: R, ids_ordered: bool) -> None:
        """Adds a row at the group's end: right (no reordering needed) only for the latest row,
        which has a larger id than all others while ids follow insertion."""
        bucket = self._groups.get(group)
        if bucket is None:
            self._groups[group] = [row]
            return
        if isinstance(bucket, list):
            latest = bucket[-1]
            bucket.append(row)
        else:
            latest = next(reversed(bucket.values()))
            bucket[id(row)] = row
        if not ids_ordered or latest.id > row.id:
            self._unsorted.add(group)

    def drop(self, group: G, row: R) -> None:
        """Takes out a row that must be in the group (a missing one means an index went wrong)."""
        bucket = self._groups.get(group)
        if isinstance(bucket, list):
            bucket = self._groups[group] = _by_identity(bucket)
        if bucket is None or bucket.pop(id(row), None) is None:
            raise ValueError(f"{row!r} is not in the index group {group!r} it should be in")
        if not bucket:
            del self._groups[group]
            self._unsorted.discard(group)

    def rows(self, group: G, ids_ordered: bool, table: Iterable[R]) -> Collection[R]:
        """The rows of one group in table order (`table`: every row, in that order)."""
        bucket = self._groups.get(group)
        if not bucket:
            return ()
        if group in self._unsorted:
            self._unsorted.discard(group)
            members = _as_list(bucket)
            if ids_ordered:
                ordered = sorted(members, key=_ID)
            else:
                held = set(map(id, members))
                ordered = [row for row in table if id(row) in held]
            self._groups[group] = bucket = ordered
        return bucket if isinstance(bucket, list) else bucket.values()


def _by_identity(rows: list[R]) -> dict[int, R]:
    return dict(zip(map(id, rows), rows, strict=True))


def _as_list(bucket: list[R] | dict[int, R]) -> list[R]:
    return bucket if isinstance(bucket, list) else list(bucket.values())


_CHUNK = 1024  # a chunk of twice this many rows splits in two


class SortedRows(Generic[R]):
    """Rows in order of (a field's value, id), each row once. The order is read when a row comes
    in and goes out, so the owner takes a row out before changing that field and puts it back
    after. Each chunk keeps its rows' values (as numbers: a date as its microseconds since 1970)
    and ids in arrays beside the rows, so that finding a place is a bisection in C, not a call
    per comparison, and a seed holding a million of each thaws them as bytes, not as objects.

    Added rows wait in `_pending` until the next read or removal: a few are then put in place one
    by one, many (a fixture set loading) by one sort of everything, which is far cheaper."""

    __slots__ = ("_field", "_ids", "_kind", "_lasts", "_pending", "_rows", "_size", "_values")

    def __init__(self, field: str, kind: str = "date") -> None:
        self._field = field
        self._kind = kind  # "date" or "number": how a value and a bound become one number
        self._values: list[array[Any]] = []  # per chunk, ascending
        self._ids: list[array[int]] = []  # per chunk, ascending among equal values
        self._rows: list[list[R]] = []
        self._lasts: list[tuple[int | float, int]] = []  # (value, id) of each chunk's last row
        self._pending: list[R] = []  # added, not yet in place
        self._size = 0  # rows in place and pending

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[R]:
        self._settle_pending()
        return chain.from_iterable(self._rows)

    def __getstate__(self) -> tuple[Any, ...]:
        self._settle_pending()  # a seed must not leave each copy of it a sort to do
        return self._field, self._kind, self._values, self._ids, self._rows, self._lasts, self._size

    def __setstate__(self, saved: tuple[Any, ...]) -> None:
        self._field, self._kind, self._values, self._ids, self._rows, self._lasts, self._size = saved
        self._pending = []

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SortedRows) and self._field == other._field and list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def add(self, row: R) -> None:
        self._pending.append(row)
        self._size += 1

    def _settle_pending(self) -> None:
        pending = self._pending
        if not pending:
            return
        self._pending = []
        if len(pending) >= _CHUNK and len(pending) * 8 >= self._size:
            self._rebuild([*chain.from_iterable(self._rows), *pending])
        else:
            for row in pending:
                self._place(row)

    def _rebuild(self, rows: list[R]) -> None:
        values = map(_NUMBERS[self._kind], map(operator.attrgetter(self._field), rows))
        ordered = sorted(zip(values, map(_ID, rows), rows, strict=True), key=_FIRST_TWO)
        cuts = range(0, len(ordered), _CHUNK)
        typecode = _TYPECODES[self._kind]
        self._values = [array(typecode, map(_VALUE, ordered[cut:cut + _CHUNK])) for cut in cuts]
        self._ids = [array("q", map(_SECOND, ordered[cut:cut + _CHUNK])) for cut in cuts]
        self._rows = [list(map(_THIRD, ordered[cut:cut + _CHUNK])) for cut in cuts]
        self._lasts = [(chunk[-1], chunk_ids[-1]) for chunk, chunk_ids in zip(self._values, self._ids, strict=True)]

    def _place(self, row: R) -> None:
        value, row_id = self._value_of(row), row.id
        if not self._rows:
            self._values.append(array(_TYPECODES[self._kind], [value]))
            self._ids.append(array("q", [row_id]))
            self._rows.append([row])
            self._lasts.append((value, row_id))
            return
        where = bisect.bisect_right(self._lasts, (value, row_id))
        values, ids, rows = self._chunk(min(where, len(self._rows) - 1))
        if where == len(self._rows):  # past every row: the usual case, a new latest value
            position = len(rows)
        else:  # after the rows that tie with it, like a row appended to the table
            start = bisect.bisect_left(values, value)
            position = bisect.bisect_right(ids, row_id, start, bisect.bisect_right(values, value, start))
        values.insert(position, value)
        ids.insert(position, row_id)
        rows.insert(position, row)
        self._settle(min(where, len(self._rows) - 1))

    def remove(self, row: R) -> None:
        """Takes out a row that must be present (a missing one means an index went wrong)."""
        self._settle_pending()
        value, row_id = self._value_of(row), row.id
        where = bisect.bisect_left(self._lasts, (value, row_id))
        while where < len(self._rows):  # rows tying on (value, id) may run on into the next chunks
            values, ids, rows = self._chunk(where)
            start = bisect.bisect_left(values, value)
            stop = bisect.bisect_right(values, value, start)
            position = bisect.bisect_left(ids, row_id, start, stop)
            while position < stop and ids[position] == row_id:
                if rows[position] is row:
                    del values[position], ids[position], rows[position]
                    self._size -= 1
                    self._settle(where)
                    return
                position += 1
            if position < len(rows):
                break
            where += 1
        raise ValueError(f"{(value, row_id)!r} is not in the {self._field} order it should be in")

    def count_between(self, low: Any, high: Any) -> int:
        """How many rows have a value within [low, high] (None: unbounded)."""
        self._settle_pending()
        (first, start), (last, stop) = self._bounds(low, high)
        if (first, start) >= (last, stop):
            return 0
        if first == last:
            return stop - start
        return len(self._rows[first]) - start + sum(map(len, self._rows[first + 1:last])) + stop

    def between(self, low: Any, high: Any) -> Iterator[R]:
        """The rows with a value within [low, high] (None: unbounded), in order."""
        self._settle_pending()
        (first, start), (last, stop) = self._bounds(low, high)
        if (first, start) >= (last, stop):
            return iter(())
        if first == last:
            return iter(self._rows[first][start:stop])
        pieces: list[Iterator[R] | list[R]] = [islice(self._rows[first], start, None), *self._rows[first + 1:last]]
        if last < len(self._rows):
            pieces.append(islice(self._rows[last], stop))
        return chain.from_iterable(pieces)

    def first_by_id(self, low: Any, high: Any, wanted: int) -> list[R]:
        """The `wanted` rows with the smallest ids among those with a value within [low, high],
        by id (ids must be unique). Reads the ids beside the rows, not the rows themselves."""
        self._settle_pending()
        (first, start), (last, stop) = self._bounds(low, high)
        if (first, start) >= (last, stop):
            return []
        ids = self._slices(self._ids, first, start, last, stop)
        rows: list[R] = self._slices(self._rows, first, start, last, stop)
        if wanted < len(ids):
            highest = heapq.nsmallest(wanted, ids)[-1]
            rows = [row for row_id, row in zip(ids, rows, strict=True) if row_id <= highest]
        rows.sort(key=_ID)
        return rows

    @staticmethod
    def _slices(lists: list[Any], first: int, start: int, last: int, stop: int) -> Any:
        """The chunks' lists (or arrays) from (first, start) to (last, stop), joined in one."""
        if first == last:
            return lists[first][start:stop]
        joined = lists[first][start:]
        for middle in lists[first + 1:last]:
            joined += middle
        if last < len(lists):
            joined += lists[last][:stop]
        return joined

    def _value_of(self, row: R) -> int | float:
        return _NUMBERS[self._kind](getattr(row, self._field))

    def _chunk(self, where: int) -> tuple[array[Any], array[int], list[R]]:
        return self._values[where], self._ids[where], self._rows[where]

    def _bounds(self, low: Any, high: Any) -> tuple[tuple[int, int], tuple[int, int]]:
        """(chunk, position) of the first row with value >= low, and of the first with value > high."""
        lasts, values, number = self._lasts, self._values, _NUMBERS[self._kind]
        low = None if low is None else number(low)
        high = None if high is None else number(high)
        if low is None:
            start = (0, 0)
        else:
            first = bisect.bisect_left(lasts, low, key=_VALUE)
            start = (first, bisect.bisect_left(values[first], low) if first < len(values) else 0)
        if high is None:
            stop = (len(values), 0)
        else:
            last = bisect.bisect_right(lasts, high, key=_VALUE)
            stop = (last, bisect.bisect_right(values[last], high) if last < len(values) else 0)
        return start, stop

    def _settle(self, where: int) -> None:
        """After a change in one chunk: its last row noted, an empty one dropped, a full one split."""
        values, ids, rows = self._chunk(where)
        if not rows:
            del self._values[where], self._ids[where], self._rows[where], self._lasts[where]
        elif len(rows) > 2 * _CHUNK:
            half = len(rows) // 2
            self._values[where:where + 1] = [values[:half], values[half:]]
            self._ids[where:where + 1] = [ids[:half], ids[half:]]
            self._rows[where:where + 1] = [rows[:half], rows[half:]]
            self._lasts[where:where + 1] = [(values[half - 1], ids[half - 1]), (values[-1], ids[-1])]
        else:
            self._lasts[where] = (values[-1], ids[-1])


def _micros(moment: datetime) -> int:
    """A date as a number that orders as it does: microseconds since 1970 (naive taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICROSECOND


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NUMBERS: dict[str, Callable[[Any], int | float]] = {"date": _micros, "number": float}
_TYPECODES = {"date": "q", "number": "d"}
_VALUE = operator.itemgetter(0)
_SECOND, _THIRD = operator.itemgetter(1), operator.itemgetter(2)
_FIRST_TWO = operator.itemgetter(0, 1)
_ID = operator.attrgetter("id")
