"""JSON bytes as Airflow prints them, and wire objects that keep their own printed text.

Airflow pretty-prints JSON with sorted keys, two spaces an indent level. A list answer (`GET
/dags`) shows the same objects request after request, and printing them is most of its cost, so
an object a memo keeps (`Frozen`) remembers its text: answered alone it is that text, and a
`Page` (a collection answer) prints its lists of such objects by copying their texts in (orjson
`Fragment`s). The bytes are exactly those of printing
the objects afresh (tests/test_rendering.py); a `Frozen` refuses changes, so its text cannot go
stale.
"""

from __future__ import annotations

from typing import Any, NoReturn

import orjson

_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS
# An item of a list that is a value of the top-level object sits two levels deep.
_ITEM_INDENT = b"\n    "


def dump_json(data: Any) -> bytes:
    """The body of a JSON answer; orjson prints ~20x faster than the stdlib."""
    if type(data) is Frozen:
        return data.text() + b"\n"
    if type(data) is Page:
        data = _with_item_texts(data)
    return orjson.dumps(data, option=_OPTIONS) + b"\n"


class Page(dict[str, Any]):
    """A collection answer (`{"dags": [...], "total_entries": n}`) whose lists may hold `Frozen`
    objects: only such a body is looked through for texts to copy (and, by the validator, for
    objects already judged)."""

    __slots__ = ()

    def frozen_lists(self) -> list[str]:
        """The keys of its lists that hold `Frozen` objects (judged by their first item)."""
        return [key for key, value in self.items() if type(value) is list and value and type(value[0]) is Frozen]


def _with_item_texts(data: Page) -> dict[str, Any]:
    """`data` with each top-level list of `Frozen` objects swapped for their texts."""
    swapped = dict(data)
    for key in data.frozen_lists():
        swapped[key] = [item.item_text() if type(item) is Frozen else item for item in data[key]]
    return swapped


class Frozen(dict[str, Any]):
    """A wire object that never changes once built, shared by every answer that shows it.

    Its values must not change either (a memo builds it from values it never hands out to be
    changed). Printing it anywhere else is ordinary: it is a dict."""

    __slots__ = ("_accepted_by", "_item_text", "_text")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._text: bytes | None = None
        self._item_text: orjson.Fragment | None = None
        self._accepted_by: set[int] = set()

    def accepted_by(self, validator: Any) -> bool:
        """`validator.is_valid(self)`, asked once per validator: neither ever changes (validators
        are compiled once per spec and kept, so their ids are never reused)."""
        if id(validator) in self._accepted_by:
            return True
        if not validator.is_valid(self):
            return False
        self._accepted_by.add(id(validator))
        return True

    def text(self) -> bytes:
        """Its text as a whole answer, printed once."""
        if self._text is None:
            self._text = orjson.dumps(self, option=_OPTIONS)
        return self._text

    def item_text(self) -> orjson.Fragment:
        """Its text as an item of a top-level list (indented two levels), printed once."""
        if self._item_text is None:
            self._item_text = orjson.Fragment(self.text().replace(b"\n", _ITEM_INDENT))
        return self._item_text

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("a Frozen wire object is shared by many answers: copy it (dict(obj)) to change it")

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self) -> tuple[Any, ...]:
        return dict, (dict(self),)  # a copy (pickle, copy.deepcopy) is a plain, changeable dict

    def __copy__(self) -> dict[str, Any]:
        return dict(self)
