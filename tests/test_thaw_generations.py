"""A large thawed state goes straight to the collector's oldest generation, so the young
collections that follow (in the middle of `create_app`, or of the first requests) never walk
it; a small one, and any thaw while objects are frozen for good (`mockflow serve`), are left as
the collector has them."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

import mockflow.store as store_module
from mockflow.store import State, freeze, thaw
from mockflow.store.records import Variable


@pytest.fixture
def collector() -> Iterator[None]:
    """No collection of its own moves objects between generations while a test looks."""
    assert gc.get_freeze_count() == 0
    gc.disable()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.enable()


def _seed(variables: int) -> bytes:
    state = State()
    for index in range(variables):
        state.variables[f"key_{index}"] = Variable(key=f"key_{index}", value=f"value {index}", id=index + 1)
    return freeze(state)


def _young(state: State) -> set[int]:
    young = {id(obj) for generation in (0, 1) for obj in gc.get_objects(generation=generation)}
    return young & {id(record) for record in state.variables.values()}


def test_a_large_thawed_state_is_in_the_oldest_generation(collector: None, monkeypatch: pytest.MonkeyPatch) -> None:
    seed = _seed(3000)
    monkeypatch.setattr(store_module, "PROMOTED_SEED_BYTES", len(seed))
    state = thaw(seed)
    assert _young(state) == set()
    assert len(state.variables) == 3000 and gc.get_freeze_count() == 0


def test_a_small_thawed_state_is_left_young(collector: None) -> None:
    state = thaw(_seed(3000))  # far below the 8 MB from which a thaw promotes
    assert len(_young(state)) == 3000


def test_a_thaw_while_objects_are_frozen_keeps_them_frozen(collector: None,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    seed = _seed(300)
    monkeypatch.setattr(store_module, "PROMOTED_SEED_BYTES", 0)
    gc.freeze()
    state = thaw(seed)
    assert gc.get_freeze_count() > 0  # an unfreeze would have emptied the permanent generation
    assert len(_young(state)) == 300
