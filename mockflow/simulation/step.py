"""The pipeline step: before the handler, the simulation catches up to the request's instant;
after a request that may have changed something, it notices the change (under the same lock)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mockflow.simulation.engine import mode_of, simulation_of

if TYPE_CHECKING:
    from mockflow.api.context import Reply
    from mockflow.pipeline import Exchange, Next

READ_ONLY = frozenset({"GET", "HEAD", "OPTIONS"})


def simulate(ex: Exchange, call_next: Next) -> Reply:
    assert ex.state is not None and ex.now is not None
    simulation = simulation_of(ex.store, mode_of(ex.settings.simulation), ex.settings.simulation_speed)
    if not simulation.follows(ex.store.clock):
        return call_next(ex)
    simulation.catch_up(ex.state, ex.now)
    reply = call_next(ex)
    if ex.method not in READ_ONLY:
        simulation.observe(ex.state, ex.now)
    return reply
