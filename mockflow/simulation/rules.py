"""Airflow 2.5's trigger rules (`TriggerRuleDep`): given the states of a task's direct upstream
task instances, whether it runs now, waits, or is skipped or marked `upstream_failed`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from mockflow.store.states import FAILED, REMOVED, SKIPPED, SUCCESS, TI_FINISHED, UPSTREAM_FAILED
from mockflow.values import value_class

Decision = Literal["run", "wait", "skipped", "upstream_failed"]
TRIGGER_RULES = ("all_success", "all_failed", "all_done", "one_success", "one_failed", "one_done",
                 "none_failed", "none_failed_min_one_success", "none_skipped", "always", "dummy",
                 "none_failed_or_skipped")


@value_class(frozen=True, slots=True)
class Upstream:
    """The counts `TriggerRuleDep` works from."""

    total: int
    success: int
    skipped: int
    failed: int
    upstream_failed: int
    removed: int
    done: int

    @classmethod
    def of(cls, states: Iterable[str | None]) -> Upstream:
        listed = list(states)
        return cls(total=len(listed), success=listed.count(SUCCESS), skipped=listed.count(SKIPPED),
                   failed=listed.count(FAILED), upstream_failed=listed.count(UPSTREAM_FAILED),
                   removed=listed.count(REMOVED), done=sum(1 for s in listed if s in TI_FINISHED))

    @property
    def all_done(self) -> bool:
        return self.done >= self.total

    @property
    def failures(self) -> int:
        return self.failed + self.upstream_failed


def decide(rule: str, up: Upstream) -> Decision:
    """A task without upstream runs whatever its rule; `always` never waits."""
    if up.total == 0 or rule in ("always", "dummy"):
        return "run"
    verdict = _forced(rule, up)
    if verdict is not None:
        return verdict
    return "run" if _met(rule, up) else "wait"


def _forced(rule: str, up: Upstream) -> Decision | None:
    """The states `flag_upstream_failed` sets before the rule is met (None: none yet)."""
    if rule == "all_success":
        return "upstream_failed" if up.failures else "skipped" if up.skipped else None
    if rule == "all_failed":
        return "skipped" if up.success or up.skipped else None
    if rule == "one_success":
        if up.all_done and up.done == up.skipped:
            return "skipped"
        return "upstream_failed" if up.all_done and up.success == 0 else None
    if rule == "one_failed":
        return "skipped" if up.all_done and not up.failures else None
    if rule == "one_done":
        return "skipped" if up.all_done and not (up.failed or up.success) else None
    if rule == "none_failed":
        return "upstream_failed" if up.failures else None
    if rule in ("none_failed_min_one_success", "none_failed_or_skipped"):
        if up.failures:
            return "upstream_failed"
        return "skipped" if up.all_done and up.skipped == up.total else None
    if rule == "none_skipped":
        return "skipped" if up.skipped else None
    return None


def _met(rule: str, up: Upstream) -> bool:
    if rule == "one_success":
        return up.success > 0
    if rule == "one_failed":
        return up.failures > 0
    if rule == "one_done":
        return up.success + up.failed > 0
    if not up.all_done:
        return False
    if rule == "all_success":
        return up.success + up.removed >= up.total
    if rule == "all_failed":
        return up.failures + up.removed >= up.total
    if rule in ("none_failed", "none_failed_min_one_success", "none_failed_or_skipped"):
        return up.failures == 0
    if rule == "none_skipped":
        return up.skipped == 0
    return rule == "all_done"  # all_done, and an unknown rule waits like Airflow's would fail it
