"""The one clock: wall time by default, frozen, set and advanced by tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mockflow import Clock

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def test_frozen_clock_stands_still_and_moves_only_when_told() -> None:
    clock = Clock(frozen_at=T0)
    assert clock.now() == clock.now() == T0
    clock.advance(timedelta(minutes=5))
    assert clock.now() == T0 + timedelta(minutes=5)
    clock.set(T0)
    assert clock.now() == T0


def test_unfrozen_clock_runs_on_from_where_it_was() -> None:
    clock = Clock(frozen_at=T0)
    clock.unfreeze()
    first = clock.now()
    assert T0 <= first < T0 + timedelta(minutes=1)
    assert clock.now() >= first


def test_running_clock_can_be_set_advanced_and_frozen() -> None:
    clock = Clock()
    clock.set(T0)
    assert T0 <= clock.now() < T0 + timedelta(minutes=1)
    clock.advance(timedelta(days=1))
    assert clock.now() >= T0 + timedelta(days=1)
    clock.freeze()
    assert clock.now() == clock.now()


def test_the_random_source_is_seeded() -> None:
    assert Clock(seed=7).random.random() == Clock(seed=7).random.random()
    assert Clock(seed=7).random.random() != Clock(seed=8).random.random()
