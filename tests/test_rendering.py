"""`dump_json` prints a `Page` of `Frozen` objects by copying their texts: the bytes are exactly
those of printing plain dicts, for any JSON values, wherever the objects sit."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mockflow.rendering import Frozen, Page, dump_json

SCALARS = st.none() | st.booleans() | st.integers(-2**63, 2**63 - 1) | st.floats(allow_nan=False,
                                                                              allow_infinity=False) | st.text()
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                                          max_size=4), max_leaves=20)
OBJECTS = st.dictionaries(st.text(max_size=8), VALUES, max_size=6)


def plain(data: Any) -> bytes:
    return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"


@given(st.lists(OBJECTS, max_size=5), st.dictionaries(st.text(max_size=5), VALUES, max_size=3))
def test_a_page_of_frozen_objects_prints_as_plain_dicts(items: list[dict[str, Any]], rest: dict[str, Any]) -> None:
    page = Page({**rest, "items": [Frozen(item) for item in items]})
    expected = plain({**rest, "items": items})
    assert dump_json(page) == expected
    assert dump_json(page) == expected  # again, from the texts kept the first time


@given(OBJECTS, VALUES)
def test_frozen_objects_anywhere_else_print_as_plain_dicts(item: dict[str, Any], other: Any) -> None:
    frozen = Frozen(item)
    for place in (frozen, [frozen], {"a": {"b": [frozen]}}, {"a": [frozen]}, Page(a=[other, frozen]),
                  Page(a=[frozen, other]), Page(a={"b": [frozen]})):
        assert dump_json(place) == plain(place)


def test_text_with_newlines_and_unicode_keeps_its_escapes() -> None:
    item = {"doc": "line one\nline two\r\n\ttab", "name": "ünïcødé 漢", "nested": {"empty": {}, "none": []}}
    assert dump_json(Page(dags=[Frozen(item), Frozen(item)], total_entries=2)) == plain(
        {"dags": [item, item], "total_entries": 2})


def test_a_frozen_object_refuses_every_change() -> None:
    frozen = Frozen({"a": 1, "b": [1]})
    changes: list[Callable[[], object]] = [
        lambda: frozen.__setitem__("a", 2), lambda: frozen.__delitem__("a"), lambda: frozen.clear(),
        lambda: frozen.pop("a"), lambda: frozen.popitem(), lambda: frozen.setdefault("c", 3),
        lambda: frozen.update(a=2), lambda: frozen.__ior__({"a": 2})]
    for change in changes:
        with pytest.raises(TypeError, match="shared"):
            change()
    assert frozen == {"a": 1, "b": [1]}


def test_copies_are_plain_dicts_that_may_change() -> None:
    frozen = Frozen({"a": 1, "b": [1]})
    for made in (copy.copy(frozen), copy.deepcopy(frozen), pickle.loads(pickle.dumps(frozen)), dict(frozen)):
        assert type(made) is dict and made == frozen
        made["a"] = 2
    assert frozen["a"] == 1
