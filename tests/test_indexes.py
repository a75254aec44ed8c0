"""The table indexes' building blocks against the plain structures they stand for: a sorted list
for `SortedRows` (with chunks small enough to split and empty often), ordered dicts for `Buckets`."""

from __future__ import annotations

import bisect
import pickle
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from itertools import chain

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockflow.store import indexes
from mockflow.store.indexes import Buckets, SortedRows

VALUES = st.integers(0, 12)  # few values: many ties between entries, told apart by their second item
BOUNDS = st.one_of(st.none(), st.integers(-1, 13))


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(indexes, "_CHUNK", 2)


@dataclass(eq=False)  # rows are told apart by identity, as the tables' records are
class _Dated:
    value: int
    id: int


def _expected_between(plain: list[_Dated], low: int | None, high: int | None) -> list[_Dated]:
    return [row for row in plain if (low is None or row.value >= low) and (high is None or row.value <= high)]


@settings(max_examples=300, deadline=None)
@given(steps=st.lists(st.tuples(st.booleans(), VALUES, st.integers(0, 3)), max_size=80),
       ranges=st.lists(st.tuples(BOUNDS, BOUNDS), min_size=1, max_size=4),
       later=st.lists(st.tuples(VALUES, st.integers(0, 3)), min_size=1, max_size=6))
def test_sorted_rows_are_a_sorted_list_through_adds_and_removes(
        steps: list[tuple[bool, int, int]], ranges: list[tuple[int | None, int | None]],
        later: list[tuple[int, int]]) -> None:
    """Few values and ids, so rows tie on both (ids repeat while they do not follow insertion):
    a removal must find the very row among its ties, even across chunks."""
    rows, plain = SortedRows[_Dated]("value", "number"), list[_Dated]()
    for adding, value, row_id in steps:
        present = [row for row in plain if (row.value, row.id) == (value, row_id)]
        if adding:
            row = _Dated(value, row_id)
            rows.add(row)
            plain.insert(bisect.bisect_right([(r.value, r.id) for r in plain], (value, row_id)), row)
        elif present:
            row = present[len(present) // 2]
            rows.remove(row)
            plain.remove(row)
        assert len(rows) == len(plain)
    assert [id(row) for row in rows] == [id(row) for row in plain]
    assert all(0 < len(chunk) <= 2 * indexes._CHUNK for chunk in rows._rows), "no empty or overfull chunk"
    assert [list(values) for values in rows._values] == [[row.value for row in chunk] for chunk in rows._rows]
    assert [list(ids) for ids in rows._ids] == [[row.id for row in chunk] for chunk in rows._rows]
    assert rows._lasts == [(chunk[-1].value, chunk[-1].id) for chunk in rows._rows]
    for low, high in ranges:
        expected = _expected_between(plain, low, high)
        assert [id(row) for row in rows.between(low, high)] == [id(row) for row in expected], (low, high)
        assert rows.count_between(low, high) == len(expected), (low, high)
    for row in [_Dated(value, row_id) for value, row_id in later]:
        rows.add(row)
        plain.insert(bisect.bisect_right([(r.value, r.id) for r in plain], (row.value, row.id)), row)
    saved = pickle.dumps(rows)  # with rows waiting to be put in place: a copy has them in place
    copy = pickle.loads(saved)
    assert copy._pending == []
    assert [(row.value, row.id) for row in chain.from_iterable(copy._rows)] == [(row.value, row.id) for row in plain]


def test_removing_an_absent_row_fails_loudly() -> None:
    rows = SortedRows[_Dated]("value", "number")
    with pytest.raises(ValueError, match="not in the value order"):
        rows.remove(_Dated(1, 1))
    kept = [_Dated(value, 0) for value in range(10)]
    for row in kept:
        rows.add(row)
    for stranger in (_Dated(4, 0), _Dated(4, 1), _Dated(99, 0)):  # a tie that is another row, and no tie
        with pytest.raises(ValueError, match="not in the value order"):
            rows.remove(stranger)
    assert list(rows) == kept


def test_an_empty_range_and_an_inverted_one_hold_nothing() -> None:
    rows = SortedRows[_Dated]("value", "number")
    assert list(rows.between(None, None)) == [] and rows.count_between(1, 2) == 0
    every = [_Dated(value, 0) for value in range(20)]
    for row in every:
        rows.add(row)
    assert list(rows.between(15, 3)) == [] and rows.count_between(15, 3) == 0
    assert list(rows.between(7, 7)) == [every[7]] and rows.count_between(None, 4) == 5


@dataclass
class _Row:
    id: int


@settings(max_examples=200, deadline=None)
@given(steps=st.lists(st.tuples(st.sampled_from("abc"), st.integers(0, 9), st.integers(0, 20)), max_size=40),
       ids_ordered=st.booleans())
def test_buckets_read_in_table_order_whatever_order_rows_came_in(
        steps: list[tuple[str, int, int]], ids_ordered: bool) -> None:
    """Rows move between groups in any order; each group reads back as the table's rows of that
    group, in table order (by id when ids follow the table, else the table's own order), and so
    does a pickled copy, taken before the groups are read (some still out of order)."""
    buckets: Buckets[str, _Row] = Buckets()
    table: dict[int, _Row] = {}
    group_of: dict[int, str] = {}
    for group, key, row_id in steps:
        row = table.setdefault(key, _Row(row_id * 10 + key))  # ids unique, as they are while ordered
        if key in group_of:
            buckets.drop(group_of.pop(key), row)
            continue
        buckets.put(group, row, ids_ordered)
        group_of[key] = group
    if ids_ordered:  # then the table's order is the ids' order, as the tables promise
        table = dict(sorted(table.items(), key=lambda item: item[1].id))
    copied_table, copied = pickle.loads(pickle.dumps((table, buckets)))
    for group in "abc":
        expected = [row for key, row in table.items() if group_of.get(key) == group]
        assert list(buckets.rows(group, ids_ordered, table.values())) == expected
        assert buckets.count(group) == len(expected)
        # the copy holds the copied rows themselves, not equal strangers
        found = list(copied.rows(group, ids_ordered, copied_table.values()))
        assert [id(row) for row in found] == [id(copied_table[key]) for key, row in table.items()
                                              if group_of.get(key) == group]
    assert set(buckets.groups()) == set(group_of.values())
    assert copied == buckets


def test_dropping_a_row_from_a_group_it_is_not_in_fails_loudly() -> None:
    buckets: Buckets[str, _Row] = Buckets()
    row = _Row(1)
    buckets.put("a", row, True)
    with pytest.raises(ValueError, match="not in the index group"):
        buckets.drop("b", row)
    with pytest.raises(ValueError, match="not in the index group"):
        buckets.drop("a", _Row(1))  # equal, but not the row the group holds
    assert buckets.count("a") == 1


def test_a_row_among_ties_filling_several_chunks_is_found_and_taken_out() -> None:
    rows = SortedRows[_Dated]("value", "number")
    ties = [_Dated(5, 1) for _ in range(13)]  # with chunks of 2-4 rows: ties over several chunks
    for row in [_Dated(4, 9), *ties, _Dated(6, 0)]:
        rows.add(row)
    assert len(list(rows)) == 15 and len(rows._rows) > 3  # read: the added rows are put in place
    for row in [ties[-1], ties[6], ties[0], *ties[1:6], *ties[7:12]]:
        rows.remove(row)
        assert all(kept is not row for kept in rows)
    assert [(row.value, row.id) for row in rows] == [(4, 9), (6, 0)]


@settings(max_examples=200, deadline=None)
@given(values=st.lists(VALUES, max_size=60), low=BOUNDS, high=BOUNDS, wanted=st.integers(1, 12))
def test_the_first_rows_by_id_of_a_range_are_its_smallest_ids_in_order(
        values: list[int], low: int | None, high: int | None, wanted: int) -> None:
    """Ids unique and unrelated to the values, ranges over many small chunks."""
    rows = SortedRows[_Dated]("value", "number")
    every = [_Dated(value, (index * 7919) % 1009) for index, value in enumerate(values)]
    for row in every:
        rows.add(row)
    expected = sorted(_expected_between(every, low, high), key=lambda row: row.id)[:wanted]
    assert [id(row) for row in rows.first_by_id(low, high, wanted)] == [id(row) for row in expected]


@settings(max_examples=150, deadline=None)
@given(moments=st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from([-300, 0, 90, 330])), max_size=30),
       low=st.one_of(st.none(), st.integers(-100, 10_100)), high=st.one_of(st.none(), st.integers(-100, 10_100)))
def test_dates_order_and_bound_as_the_instants_they_are_whatever_their_offsets(
        moments: list[tuple[int, int]], low: int | None, high: int | None) -> None:
    """Dates are kept as microseconds since 1970: the same instant in another offset is the same
    value, and a bound in one offset selects what comparing the datetimes would."""
    start = datetime(2024, 1, 1, tzinfo=UTC)

    def at(seconds: int, offset_minutes: int = 0) -> datetime:
        return (start + timedelta(seconds=seconds, microseconds=seconds % 7)).astimezone(
            timezone(timedelta(minutes=offset_minutes)))

    rows = SortedRows[_Moment]("value")
    every = [_Moment(at(seconds, offset), index) for index, (seconds, offset) in enumerate(moments)]
    for row in every:
        rows.add(row)
    low_at, high_at = (None if low is None else at(low, 90)), (None if high is None else at(high, -300))
    expected = sorted((row for row in every if (low_at is None or row.value >= low_at)
                       and (high_at is None or row.value <= high_at)), key=lambda row: (row.value, row.id))
    assert [id(row) for row in rows.between(low_at, high_at)] == [id(row) for row in expected]
    assert rows.count_between(low_at, high_at) == len(expected)


@dataclass(eq=False)
class _Moment:
    value: datetime
    id: int
