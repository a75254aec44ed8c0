"""`value_class` answers `==`, `hash` and `repr` exactly as `dataclasses.dataclass` would: every
flag mockflow uses, fields left out of the comparison, the hash or the repr, inheritance, methods
a class body writes itself, and recursion; checked against `make_dataclass` twins."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import field
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockflow.values import value_class

FLAGS = [{}, {"slots": True}, {"frozen": True}, {"frozen": True, "slots": True}, {"eq": False},
         {"frozen": True, "slots": True, "eq": False}]
FIELDS = [
    ("name", str, field()),
    ("count", int, field(default=0)),
    ("hidden", int, field(default=1, repr=False)),
    ("loose", float, field(default=0.0, compare=False)),
    ("unhashed", int, field(default=2, hash=False)),
    ("tags", tuple, field(default=())),
]


def twins(flags: dict[str, Any]) -> tuple[type, type]:
    """The same class made by value_class and by dataclass (one qualname, so reprs compare)."""
    ours = value_class(**flags)(type("Record", (), {"__annotations__": {n: t for n, t, _ in FIELDS},
                                                   **{n: f for n, _, f in FIELDS}}))
    theirs = dataclasses.make_dataclass("Record", FIELDS, **flags)
    return ours, theirs


VALUES = st.tuples(st.text(max_size=3), st.integers(-3, 3), st.integers(-3, 3), st.sampled_from([0.0, 1.5, math.nan]),
                   st.integers(-3, 3), st.tuples() | st.tuples(st.integers(0, 2)))


@pytest.mark.parametrize("flags", FLAGS, ids=[",".join(f) or "plain" for f in FLAGS])
@given(first=VALUES, second=VALUES)
def test_eq_hash_and_repr_are_dataclasses(flags: dict[str, Any], first: tuple[Any, ...],
                                          second: tuple[Any, ...]) -> None:
    ours, theirs = twins(flags)
    a, b, a2, b2 = ours(*first), ours(*second), theirs(*first), theirs(*second)
    assert repr(a) == repr(a2) and repr(b) == repr(b2)
    assert (a == b) == (a2 == b2) and (a != b) == (a2 != b2)
    assert (a == a) == (a2 == a2)  # a NaN in a compared field: the tuple's identity shortcut holds
    assert (a == ours(*first)) == (a2 == theirs(*first))
    assert a.__eq__(object()) is NotImplemented if flags.get("eq", True) else True
    if theirs.__hash__ is None:
        assert ours.__hash__ is None
    elif flags.get("eq", True):
        assert hash(a) == hash(a2) and hash(b) == hash(b2)
    else:
        assert hash(a) == object.__hash__(a)  # identity, as dataclass leaves it


def test_the_dataclass_machinery_still_works() -> None:
    ours, _ = twins({"frozen": True, "slots": True})
    record = ours("a", 1)
    assert [f.name for f in dataclasses.fields(record)] == [name for name, _, _ in FIELDS]
    assert dataclasses.replace(record, count=2) == ours("a", 2)
    assert dataclasses.asdict(record)["name"] == "a"
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.count = 3
    assert not hasattr(record, "__dict__")


def test_a_subclass_compares_and_shows_every_field() -> None:
    @value_class
    class Base:
        a: int

    @value_class
    class Child(Base):
        b: int = 0

    assert repr(Child(1, 2)) == "test_a_subclass_compares_and_shows_every_field.<locals>.Child(a=1, b=2)"
    assert Child(1, 2) != Child(1, 3) and Child(1, 2) == Child(1, 2)
    assert Base(1) != Child(1)  # another class: not equal, as dataclass answers


def test_methods_the_class_writes_stay() -> None:
    @value_class(frozen=True)
    class Own:
        a: int

        def __eq__(self, other: object) -> bool:
            return True

        def __hash__(self) -> int:
            return 7

        def __repr__(self) -> str:
            return "own"

    assert Own(1) == Own(2) and hash(Own(1)) == 7 and repr(Own(1)) == "own"


def test_a_record_that_holds_itself_shows_dots() -> None:
    @value_class
    class Node:
        child: Any = None

    node = Node()
    node.child = node
    assert repr(node) == "test_a_record_that_holds_itself_shows_dots.<locals>.Node(child=...)"


def test_a_class_with_no_compared_field_equals_its_like() -> None:
    @value_class(frozen=True)
    class Empty:
        ignored: int = field(default=0, compare=False)

    assert Empty(1) == Empty(2) and hash(Empty(1)) == hash(())


def test_one_compared_field_compares_as_a_tuple_of_one() -> None:
    @value_class(frozen=True)
    class One:
        value: float

    nan = math.nan
    assert One(nan) == One(nan)  # the same object: equal, as `(nan,) == (nan,)` is
    assert One(1.0) != One(2.0) and hash(One(1.0)) == hash((1.0,))
