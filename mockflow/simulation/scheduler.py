"""The scheduler's moves at one instant, and when the next one is due.

`pending` lists the work the scheduler and the workers have, each item with the time it is due
(work that waits for another event, such as a free pool slot, is listed when it could happen).
`step` applies everything due by an instant, in Airflow's order within a loop: finished tries
first (they free slots), then dependency checks, retries, queueing by priority, worker starts,
and last the runs' own state. Every write is a whole move: the store is never left half-changed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from mockflow.simulation import capacity, datasets, mapping, schedules, tries
from mockflow.simulation.marks import EXECUTOR_DELAY, SCHEDULER_DELAY, Marks
from mockflow.simulation.rules import Upstream, decide
from mockflow.simulation.scripts import ScriptBook
from mockflow.store.records import Dag, DagRun, Task, TaskInstance
from mockflow.store.state import RunKey, State, TaskInstanceKey
from mockflow.store.states import (
    DEFERRED,
    FAILED,
    QUEUED,
    REMOVED,
    RESTARTING,
    RUN_FAILED,
    RUN_QUEUED,
    RUN_RUNNING,
    RUN_SUCCESS,
    RUN_UNFINISHED,
    RUNNING,
    SCHEDULED,
    SHUTDOWN,
    SUCCESS,
    TI_FAILED,
    TI_FINISHED,
    UP_FOR_RESCHEDULE,
    UP_FOR_RETRY,
)
from mockflow.store.timetables import RunInfo
from mockflow.values import value_class

DEFAULT_RETRY_DELAY = timedelta(seconds=300)  # Airflow's `default_task_retry_delay`
REWAKE_DELAY = timedelta(seconds=5)  # a deferred or rescheduled try is back after this
EMPTY_OPERATORS = frozenset({"EmptyOperator", "DummyOperator"})  # what `inherits_from_empty_operator` finds
# The order of kinds of work within one instant (a scheduler loop creates runs, starts queued ones,
# then looks at each running one).
END, DECIDE, RETRY, QUEUE, START, FINISH_RUN, START_RUN, CREATE_RUN = range(8)
_ORDER = (CREATE_RUN, START_RUN, END, DECIDE, RETRY, QUEUE, START, FINISH_RUN)


@value_class(frozen=True, slots=True)
class Work:
    due: datetime
    kind: int
    dag: Dag
    run: DagRun | None  # None: the DAG's next scheduled run, to be created
    ti: TaskInstance | None = None


class Scheduler:
    def __init__(self, book: ScriptBook) -> None:
        self.book = book
        self.runs: Marks[RunKey] = Marks()
        self.tis: Marks[TaskInstanceKey] = Marks()
        # per DAG, keyed by its latest automated run: when it may get its next scheduled run
        self.dags: Marks[str] = Marks()
        self.scale = 1.0  # real time at speed s: every delay and duration divided by s
        # While set, scheduled runs whose interval ends after it are not created (run-until-idle
        # would otherwise run into the future for ever).
        self.horizon: datetime | None = None
        self._created: tuple[datetime, int] | None = None  # runs created at one instant (a loop's batch)
        # A DAG's next scheduled run as worked out when first looked at after its latest automated
        # run (keyed by that run), kept like the DagModel's `next_dagrun*` columns: a catchup-off
        # timedelta schedule's run is due when it is first seen, not again at every look.
        self._next: dict[str, tuple[str | None, RunInfo | None]] = {}
        # Per DAG: its unfinished runs and the key of its latest automated run, listed once after
        # each change so that the many looks in between (every request in real time) cost what is
        # unfinished, not the DAG's whole history. Dropped whenever a write may have changed them.
        self._scans: dict[str, tuple[list[DagRun], str | None]] = {}
        self._scanned_total = -1  # how many runs the state had when they were listed

    def forget(self) -> None:
        """Drops what it learnt about a state that is gone."""
        self.runs.clear()
        self.tis.clear()
        self.dags.clear()
        self._next.clear()
        self._scans.clear()
        self._created = None

    def rescan(self, dag_id: str | None = None) -> None:
        """Runs may have been added or changed (of one DAG, or of any): list them again."""
        if dag_id is None:
            self._scans.clear()
        else:
            self._scans.pop(dag_id, None)

    def _scan(self, state: State, dag_id: str) -> tuple[list[DagRun], str | None]:
        scan = self._scans.get(dag_id)
        if scan is None:
            runs = state.dag_runs.of_dag(dag_id)
            scan = self._scans[dag_id] = ([run for run in runs if run.state in RUN_UNFINISHED],
                                          _latest_key(list(runs)))
        return scan

    def scaled(self, delay: timedelta) -> timedelta:
        return delay * self.scale

    # --- what is pending ---------------------------------------------------------------------------------

    def pending(self, state: State, seen: datetime, loop: timedelta) -> Iterator[Work]:
        """All work of the unfinished runs of unpaused DAGs. Records changed since the simulation
        last looked are noticed at `seen`, counting from `seen + loop`."""
        if len(state.dag_runs) != self._scanned_total:  # runs added or deleted behind its back
            self._scans.clear()
            self._scanned_total = len(state.dag_runs)
        for dag in state.dags.values():
            if dag.is_paused or not dag.is_active:
                self._next.pop(dag.dag_id, None)  # unpausing works it out afresh
                continue
            unfinished, latest = self._scan(state, dag.dag_id)
            for run in unfinished:
                if run.state in RUN_UNFINISHED:
                    yield from self._run_work(state, dag, run, seen, loop)
            creation = self._create_work(state, dag, unfinished, latest, seen, loop)
            if creation is not None:
                yield creation

    def _create_work(self, state: State, dag: Dag, unfinished: list[DagRun], latest: str | None, seen: datetime,
                     loop: timedelta) -> Work | None:
        if dag.schedule_interval is None or schedules.active(unfinished) >= dag.max_active_runs:
            self._next.pop(dag.dag_id, None)  # at the limit the scheduler stops planning
            return None
        known = self._next.get(dag.dag_id)
        if known is not None and known[0] == latest:
            info = known[1]
        else:
            info = self._next_run(dag, list(state.dag_runs.of_dag(dag.dag_id)), seen)
        if info is None or (self.horizon is not None and info.run_after > self.horizon):
            return None
        since = self.dags.since(dag.dag_id, latest, 0, seen, loop)
        return Work(max(info.run_after, since), CREATE_RUN, dag, None)

    def _run_work(self, state: State, dag: Dag, run: DagRun, seen: datetime, loop: timedelta) -> Iterator[Work]:
        run_since = self.runs.since((run.dag_id, run.dag_run_id), run.state, 0, seen, loop)
        if run.state == RUN_QUEUED:
            yield Work(run_since, START_RUN, dag, run)
            return
        rows = state.task_instances.of_run(run.dag_id, run.dag_run_id)
        by_task: dict[str, list[TaskInstance]] = {}
        for (task_id, _), ti in rows.items():
            by_task.setdefault(task_id, []).append(ti)
        upstream = _upstream_of(dag)
        sinces = {ti.id: self.tis.since((ti.dag_id, ti.dag_run_id, ti.task_id, ti.map_index), ti.state,
                                        ti.try_number, seen, loop) for ti in rows.values()}
        latest, unfinished, stuck = max([run_since, *sinces.values()]), 0, True
        for ti in rows.values():
            if ti.state in TI_FINISHED:
                continue
            unfinished += 1
            ups = [u for t in upstream.get(ti.task_id, ()) for u in by_task.get(t, ())]
            work = self._ti_work(dag, run, ti, sinces, run_since, ups)
            if work is not None:
                stuck = False
                yield work
        if unfinished == 0 or stuck:  # all done, or nothing can ever move again (a deadlock)
            yield Work(latest + self.scaled(SCHEDULER_DELAY), FINISH_RUN, dag, run)

    def _ti_work(self, dag: Dag, run: DagRun, ti: TaskInstance, sinces: dict[int, datetime], run_since: datetime,
                 ups: list[TaskInstance]) -> Work | None:
        since = sinces[ti.id]
        if ti.state is None:
            task = dag.tasks.get(ti.task_id)
            if task is not None and decide(_rule(task.wire), Upstream.of(u.state for u in ups)) == "wait":
                return None
            done = [sinces[u.id] + self.scaled(SCHEDULER_DELAY) for u in ups if u.state in TI_FINISHED]
            return Work(max([since, run_since, *done]), DECIDE, dag, run, ti)
        if ti.state == SCHEDULED:
            return Work(since, QUEUE, dag, run, ti)
        if ti.state == QUEUED:
            return Work(since + self.scaled(EXECUTOR_DELAY), START, dag, run, ti)
        if ti.state == RUNNING:
            task = dag.tasks.get(ti.task_id)
            duration = self.book.duration(dag, task, run.dag_run_id) if task is not None else 0.0
            return Work(since + self.scaled(timedelta(seconds=duration)), END, dag, run, ti)
        if ti.state in (RESTARTING, SHUTDOWN):
            return Work(since + self.scaled(EXECUTOR_DELAY), END, dag, run, ti)
        if ti.state == UP_FOR_RETRY:
            task = dag.tasks.get(ti.task_id)
            return Work(since + self.scaled(_retry_delay(task.wire if task else {})), RETRY, dag, run, ti)
        if ti.state in (DEFERRED, UP_FOR_RESCHEDULE):
            return Work(since + self.scaled(REWAKE_DELAY), RETRY, dag, run, ti)
        return None

    # --- moves ---------------------------------------------------------------------------------------------

    def step(self, state: State, now: datetime) -> int:
        """Applies all work due by `now` until none is left; returns how many moves were made."""
        moves = 0
        while True:
            due = sorted((w for w in self.pending(state, now, timedelta(0)) if w.due <= now), key=_work_order)
            made = sum(self._apply(state, work, now) for work in due)
            if not made:
                return moves
            moves += made

    def next_due(self, state: State, after: datetime) -> datetime | None:
        dues = [w.due for w in self.pending(state, after, timedelta(0)) if w.due > after]
        return min(dues) if dues else None

    def _apply(self, state: State, work: Work, now: datetime) -> bool:
        ti, run = work.ti, work.run
        if run is None:
            return self._create_run(state, work.dag, now)
        if ti is None:
            if work.kind == START_RUN:
                return self._start_run(state, work.dag, run, now)
            return self._finish_run(state, work.dag, run, now)
        if (ti.dag_id, ti.dag_run_id, ti.task_id, ti.map_index) not in state.task_instances:
            return False
        return self._apply_ti(state, work, ti, now)

    def _next_run(self, dag: Dag, runs: list[DagRun], now: datetime) -> RunInfo | None:
        key = _latest_key(runs)
        known = self._next.get(dag.dag_id)
        if known is not None and known[0] == key:
            return known[1]
        info = schedules.next_run(dag, runs, now)
        self._next[dag.dag_id] = (key, info)
        return info

    def _create_run(self, state: State, dag: Dag, now: datetime) -> bool:
        """`_create_dag_runs`: the DAG's next scheduled run, queued, and its `next_dagrun*` moved on."""
        runs = list(state.dag_runs.of_dag(dag.dag_id))
        info = self._next_run(dag, runs, now)
        if info is None or info.run_after > now or schedules.active(runs) >= dag.max_active_runs:
            return False
        loop = self.scaled(SCHEDULER_DELAY)
        at, count = self._created if self._created is not None and self._created[0] == now else (now, 0)
        if count >= schedules.CREATE_BATCH:  # the loop's batch is full: the next loop takes it
            self.dags.set(dag.dag_id, _latest_key(runs), 0, now + loop)
            return False
        run = schedules.create(state, dag, info)
        if run is None:
            return False
        self._created = (at, count + 1)
        self.rescan(dag.dag_id)
        self.runs.set((run.dag_id, run.dag_run_id), RUN_QUEUED, 0, now)  # started in this loop
        runs.append(run)
        self.dags.set(dag.dag_id, _latest_key(runs), 0, now + loop)  # one run per DAG per loop
        schedules.show_next(state, dag, info)
        self._show_next(state, dag, runs, now)
        return True

    def _show_next(self, state: State, dag: Dag, runs: list[DagRun], now: datetime) -> None:
        if schedules.active(runs) >= dag.max_active_runs:
            schedules.show_full(state, dag)
        else:
            schedules.show_next(state, dag, self._next_run(dag, runs, now))

    def _apply_ti(self, state: State, work: Work, ti: TaskInstance, now: datetime) -> bool:
        table, dag, run = state.task_instances, work.dag, work.run
        assert run is not None
        if work.kind == DECIDE:
            return self._decide(state, dag, run, ti, now)
        if work.kind == QUEUE:
            if not capacity.has_room(state, dag, ti):
                return False
            table.set_state(ti, QUEUED)
            table.update(ti, queued_when=now)
            return True
        if work.kind == START and ti.state == QUEUED:
            tries.start_try(state, ti, run, dag, now)
            return True
        if work.kind == RETRY:
            table.set_state(ti, SCHEDULED)
            return True
        if work.kind == END:
            self._end(state, dag, run, ti, now)
            return True
        return False

    def _end(self, state: State, dag: Dag, run: DagRun, ti: TaskInstance, now: datetime) -> None:
        table = state.task_instances
        if ti.state in (RESTARTING, SHUTDOWN):  # a cleared or killed try: retried while tries are left
            eligible = ti.state == RESTARTING or ti.try_number <= ti.max_tries
            table.set_state(ti, UP_FOR_RETRY if eligible else FAILED)
            table.update(ti, end_date=now, duration=(now - (ti.start_date or now)).total_seconds())
            return
        task = dag.tasks.get(ti.task_id)
        if task is None:
            table.set_state(ti, FAILED)
            return
        outcome = tries.end_try(state, ti, run, dag, self.book.resolve(dag, task, run.dag_run_id), now)
        if outcome == SUCCESS and task.outlets:
            for created in datasets.produce(state, task, ti, now):
                self.rescan(created.dag_id)

    def _decide(self, state: State, dag: Dag, run: DagRun, ti: TaskInstance, now: datetime) -> bool:
        table = state.task_instances
        task = dag.tasks.get(ti.task_id)
        state.dag_runs.update(run, last_scheduling_decision=now)
        if task is None:
            table.set_state(ti, REMOVED)
            return True
        parents = _upstream_of(dag).get(ti.task_id, ())  # once, not once per row of the run
        ups = [u for (task_id, _), u in table.of_run(run.dag_id, run.dag_run_id).items() if task_id in parents]
        verdict = decide(_rule(task.wire), Upstream.of(u.state for u in ups))
        if verdict == "wait":
            return False
        if verdict == "run" and mapping.expand(state, dag, run, ti, now):
            return True  # the expanded task instances are checked next
        if verdict == "run" and self._never_executed(dag, task, run):
            # `schedule_tis`: an EmptyOperator with no outlets is marked success where it stands, no try
            table.set_state(ti, SUCCESS)
            table.update(ti, start_date=now, end_date=now, duration=0.0)
        elif verdict == "run":
            table.set_state(ti, SCHEDULED)
        else:  # `set_state` stamps the dates of a try that never ran
            table.set_state(ti, verdict)
            table.update(ti, start_date=ti.start_date or now, end_date=now, duration=0.0)
        return True

    def _never_executed(self, dag: Dag, task: Task, run: DagRun) -> bool:
        """Airflow's scheduler skips the executor for empty operators; a task-level script of outcomes
        says the test wants it run anyway."""
        return (task.operator_class in EMPTY_OPERATORS and not task.outlets
                and not self.book.scripts_outcomes(dag, task, run.dag_run_id))

    def _start_run(self, state: State, dag: Dag, run: DagRun, now: datetime) -> bool:
        active = sum(1 for other in state.dag_runs.of_dag(dag.dag_id) if other.state == RUN_RUNNING)
        if run.state != RUN_QUEUED or active >= dag.max_active_runs:
            return False
        state.dag_runs.set_state(run, RUN_RUNNING, now)
        state.dag_runs.update(run, start_date=now, last_scheduling_decision=now)
        return True

    def _finish_run(self, state: State, dag: Dag, run: DagRun, now: datetime) -> bool:
        """`DagRun.update_state`: failed when a leaf failed (or nothing can run), else success."""
        rows = [ti for ti in state.task_instances.of_run(run.dag_id, run.dag_run_id).values() if ti.state != REMOVED]
        leaves = {task_id for task_id, task in dag.tasks.items() if not task.downstream_task_ids}
        stuck = any(ti.state not in TI_FINISHED for ti in rows)
        failed = stuck or any(ti.state in TI_FAILED for ti in rows if ti.task_id in leaves)
        state.dag_runs.set_state(run, RUN_FAILED if failed else RUN_SUCCESS, now)
        state.dag_runs.update(run, last_scheduling_decision=now)
        self.runs.drop((run.dag_id, run.dag_run_id))
        for ti in rows:
            self.tis.drop((ti.dag_id, ti.dag_run_id, ti.task_id, ti.map_index))
        if dag.schedule_interval is not None and schedules.timetable(dag).schedules:
            # the scheduler works the next run out again, and may create it from its next loop
            runs = list(state.dag_runs.of_dag(dag.dag_id))
            self._next.pop(dag.dag_id, None)
            self._show_next(state, dag, runs, now)
            self.dags.set(dag.dag_id, _latest_key(runs), 0, now + self.scaled(SCHEDULER_DELAY))
        return True


def _latest_key(runs: list[DagRun]) -> str | None:
    latest = schedules.latest_automated(runs)
    return None if latest is None else latest.logical_date.isoformat()


def _work_order(work: Work) -> tuple[Any, ...]:
    ti = work.ti
    if work.run is None:  # `dags_needing_dagruns` goes by `next_dagrun_create_after`
        return (_ORDER.index(work.kind), 0, work.due, 0, work.dag.dag_id)
    if ti is None:
        return (_ORDER.index(work.kind), 0, work.run.logical_date, work.run.id, 0)
    # queueing goes by priority, then logical date (Airflow's `-priority_weight, execution_date`)
    return (_ORDER.index(work.kind), -ti.priority_weight, work.run.logical_date, ti.map_index, ti.id)


def _rule(wire: dict[str, Any]) -> str:
    return str(wire.get("trigger_rule") or "all_success")


def _retry_delay(wire: dict[str, Any]) -> timedelta:
    delay = wire.get("retry_delay")
    if not isinstance(delay, dict):
        return DEFAULT_RETRY_DELAY
    return timedelta(days=delay.get("days", 0), seconds=delay.get("seconds", 0),
                     microseconds=delay.get("microseconds", 0))


def _upstream_of(dag: Dag) -> dict[str, list[str]]:
    upstream: dict[str, list[str]] = {}
    for task in dag.tasks.values():
        for child in task.downstream_task_ids:
            upstream.setdefault(child, []).append(task.task_id)
    return upstream
