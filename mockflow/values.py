"""`value_class`: `dataclasses.dataclass` with one shared `__eq__`, `__hash__` and `__repr__`.

Python 3.11 makes each method a dataclass generates by compiling its source text, at every start:
mockflow's 60-odd classes cost `mockflow serve` 263 compilations, 44 ms of a 300 ms start. The
comparison, hash and repr need no generated code: a C-level `attrgetter` of the compared fields
serves every class. `__init__` (and a frozen class's `__setattr__`) are still dataclass's own,
as are `fields()`, `replace()` and `asdict()`; the shared methods answer exactly as the generated
ones do (tests/test_values.py holds them to `dataclasses.make_dataclass` twins).
"""

from __future__ import annotations

import dataclasses
import operator
import reprlib
from collections.abc import Callable
from typing import Any, TypeVar, cast, dataclass_transform, overload

T = TypeVar("T", bound=type)


@overload
def value_class(cls: T, /) -> T: ...


@overload
def value_class(*, frozen: bool = False, slots: bool = False, eq: bool = True) -> Callable[[T], T]: ...


@dataclass_transform(field_specifiers=(dataclasses.field,))
def value_class(cls: T | None = None, /, *, frozen: bool = False, slots: bool = False,
                eq: bool = True) -> T | Callable[[T], T]:
    """`@dataclass(frozen=..., slots=..., eq=...)`, its comparison, hash and repr shared."""

    def wrap(cls: T) -> T:
        own = cls.__dict__  # methods the class body writes itself stay, as dataclass leaves them
        made: Any = dataclasses.dataclass(cls, frozen=frozen, slots=slots, eq=False, repr=False)
        fields = dataclasses.fields(made)
        if "__repr__" not in own:
            made._repr_names = tuple(f.name for f in fields if f.repr)
            made.__repr__ = _repr
        if eq and "__eq__" not in own:
            made._compared = staticmethod(_getter([f.name for f in fields if f.compare]))
            made.__eq__ = _eq
            if "__hash__" not in own:
                # dataclass's rule: frozen and compared by value is hashable by value; else unhashable
                hashed = [f.name for f in fields if (f.compare if f.hash is None else f.hash)]
                made._hashed = staticmethod(_getter(hashed))
                made.__hash__ = _hash if frozen else None
        return cast(T, made)

    return wrap if cls is None else wrap(cls)


def _getter(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """The named attributes as one tuple (attrgetter gives a bare value for a single name). Kept
    on the class as a staticmethod: a plain function there would be bound to the instance."""
    if len(names) > 1:
        return operator.attrgetter(*names)
    if names:
        one = operator.attrgetter(names[0])
        return lambda obj: (one(obj),)
    return lambda obj: ()


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is self.__class__:
        compared = self._compared
        return compared(self) == compared(other)
    return NotImplemented


def _hash(self: Any) -> int:
    return hash(self._hashed(self))


@reprlib.recursive_repr()
def _repr(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._repr_names)
    return f"{self.__class__.__qualname__}({shown})"
