"""The states of DAG runs and task instances, the sets Airflow 2.5.3 groups them in, and the moves
between them.

Two kinds of move exist. The scheduler's (`*_LIFECYCLE`) follow a run or a try through its life;
a simulated scheduler drives them. A person's (`*_MANUAL`: marking, clearing, failing a run)
may set a few states from any state. The tables refuse any other move.
"""

from __future__ import annotations

from collections.abc import Mapping

# --- DAG runs (airflow.utils.state.DagRunState) --------------------------------------------------------

RUN_QUEUED, RUN_RUNNING, RUN_SUCCESS, RUN_FAILED = "queued", "running", "success", "failed"
RUN_STATES = frozenset({RUN_QUEUED, RUN_RUNNING, RUN_SUCCESS, RUN_FAILED})
# `State.finished_dr_states`: a run in one has an end date
RUN_FINISHED = frozenset({RUN_SUCCESS, RUN_FAILED})
# `State.unfinished_dr_states`
RUN_UNFINISHED = frozenset({RUN_QUEUED, RUN_RUNNING})

RUN_LIFECYCLE: Mapping[str, frozenset[str]] = {
    RUN_QUEUED: frozenset({RUN_RUNNING}),
    RUN_RUNNING: frozenset({RUN_SUCCESS, RUN_FAILED}),
    RUN_SUCCESS: frozenset(),
    RUN_FAILED: frozenset(),
}
# updateDagRunState sets these, clearing queues a run again, from whatever state it is in
RUN_MANUAL = frozenset({RUN_QUEUED, RUN_SUCCESS, RUN_FAILED})

# --- task instances (airflow.utils.state.TaskInstanceState; None is "no status") -----------------------

NONE = None
SCHEDULED, QUEUED, RUNNING, SUCCESS, FAILED = "scheduled", "queued", "running", "success", "failed"
SHUTDOWN, RESTARTING, UP_FOR_RETRY, UP_FOR_RESCHEDULE = "shutdown", "restarting", "up_for_retry", "up_for_reschedule"
UPSTREAM_FAILED, SKIPPED, REMOVED, DEFERRED = "upstream_failed", "skipped", "removed", "deferred"

TI_STATES: frozenset[str | None] = frozenset({
    NONE, SCHEDULED, QUEUED, RUNNING, SUCCESS, FAILED, SHUTDOWN, RESTARTING, UP_FOR_RETRY, UP_FOR_RESCHEDULE,
    UPSTREAM_FAILED, SKIPPED, REMOVED, DEFERRED,
})
# `State.finished`: the try is over and will not run again by itself
TI_FINISHED: frozenset[str | None] = frozenset({SUCCESS, FAILED, SKIPPED, UPSTREAM_FAILED, REMOVED})
# `State.unfinished`: everything else, "no status" included
TI_UNFINISHED: frozenset[str | None] = TI_STATES - TI_FINISHED
# `State.failed_states`: what clearing with only_failed picks
TI_FAILED: frozenset[str | None] = frozenset({FAILED, UPSTREAM_FAILED})
# `TaskInstance.set_state` stamps an end date and a duration when entering one of these
TI_ENDS_TRY: frozenset[str | None] = TI_FINISHED | {UP_FOR_RETRY}
# Tries in progress as marking a run failed sees them: they fail, other unfinished ones are skipped
TI_IN_PROGRESS: frozenset[str | None] = frozenset({RUNNING, DEFERRED, UP_FOR_RESCHEDULE})

TI_LIFECYCLE: Mapping[str | None, frozenset[str | None]] = {
    NONE: frozenset({SCHEDULED, QUEUED, REMOVED, SKIPPED, UPSTREAM_FAILED}),
    SCHEDULED: frozenset({QUEUED, NONE, REMOVED}),
    QUEUED: frozenset({RUNNING, SCHEDULED, FAILED, NONE}),
    RUNNING: frozenset({SUCCESS, FAILED, UP_FOR_RETRY, UP_FOR_RESCHEDULE, DEFERRED, SKIPPED, RESTARTING,
                        SHUTDOWN}),
    DEFERRED: frozenset({SCHEDULED, FAILED}),
    UP_FOR_RETRY: frozenset({SCHEDULED}),
    UP_FOR_RESCHEDULE: frozenset({SCHEDULED}),
    RESTARTING: frozenset({UP_FOR_RETRY, NONE}),
    SHUTDOWN: frozenset({UP_FOR_RETRY, FAILED}),
    SUCCESS: frozenset(), FAILED: frozenset(), SKIPPED: frozenset(), UPSTREAM_FAILED: frozenset(),
    REMOVED: frozenset({NONE}),
}
# Marking (success, failed, skipped), clearing (None; a running try is asked to restart) and
# failing a run (skipped) may move a task instance from any state
TI_MANUAL: frozenset[str | None] = frozenset({SUCCESS, FAILED, SKIPPED, NONE, RESTARTING})


def run_can_move(old: str, new: str) -> bool:
    return new in RUN_MANUAL or new in RUN_LIFECYCLE.get(old, frozenset())


def ti_can_move(old: str | None, new: str | None) -> bool:
    return new in TI_MANUAL or new in TI_LIFECYCLE.get(old, frozenset())
