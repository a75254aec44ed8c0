"""The DAG files of a generated set: the DAG, its tasks and source, its runs and task instances."""

from __future__ import annotations

from datetime import datetime, timedelta

from mockflow.fixtureset.builders import (
    Attempt,
    TaskSpec,
    cron,
    dag_wire,
    downstream_weights,
    log_text,
    param,
    run_id_for,
    run_wire,
    task_wire,
    ti_wire,
    time_delta,
)
from mockflow.fixtureset.generate.plan import (
    CRONS,
    END,
    JSON,
    PLAIN_OPERATORS,
    RECENT_RUNS,
    RUNNING_STATES,
    STEPS,
    SUBJECTS,
    TAGS,
    TEAMS,
    Plan,
    PlannedDag,
)
from mockflow.wire import iso


class DagMaker:
    """One DAG file per planned DAG; outlet task instances are noted in the plan for the dataset events."""

    def __init__(self, plan: Plan) -> None:
        self.settings, self.rng, self.fake, self.pools = plan.settings, plan.rng, plan.fake, plan.pools
        self.producer_runs = plan.producer_runs  # the same list: the dataset events are made from it

    # --- one DAG -------------------------------------------------------------------------------
    def dag(self, planned: PlannedDag) -> JSON:
        rng = self.rng
        specs = self._tasks(planned)
        owner = rng.choice(TEAMS)
        start = END - timedelta(days=rng.randint(60, 400))
        schedule, description_of_time = self._schedule(planned)
        params = {}
        if planned.kind in ("none", "once"):
            params = {"full_refresh": param(False, "Rebuild everything", {"type": "boolean"}),
                      "batch_size": param(rng.choice((500, 1000, 5000)), None, {"type": "integer", "minimum": 1})}
        wire = dag_wire(
            planned.dag_id, schedule=schedule, timetable_description=description_of_time, owners=[owner],
            tags=rng.sample(TAGS, rng.randint(1, 3)), start_date=start, parsed_at=END + timedelta(minutes=5),
            description=self.fake.sentence(nb_words=8).rstrip("."),
            is_paused=rng.random() < 0.1, is_active=planned.index % 50 != 49,
            doc_md=f"### {planned.dag_id}\n\n{self.fake.paragraph(nb_sentences=3)}\n" if params else None,
            params=params, max_active_runs=rng.choice((1, 3, 16)),
            next_dagrun=(END + planned.step, END + planned.step, END + 2 * planned.step)
            if planned.kind in ("cron", "timedelta") else None,
        )
        weights = downstream_weights(specs)
        wire["tasks"] = [task_wire(spec, owner, start) for spec in specs]
        wire["source"] = self._source(planned, specs, owner)
        if planned.consumes:
            wire["x-mockflow"] = {"dataset_triggers": planned.consumes}
        count = self.settings.runs_per_dag
        wire["dag_runs"] = [self._run(planned, specs, weights, number, count) for number in range(count)]
        return wire

    def _schedule(self, planned: PlannedDag) -> tuple[JSON | None, str]:
        if planned.kind == "cron":
            expression, text, _ = next(c for c in CRONS if c[2] == planned.step)
            return cron(expression), text
        if planned.kind == "timedelta":
            return time_delta(planned.step), ""
        if planned.kind == "once":
            return cron("@once"), "Once, as soon as possible"
        if planned.kind == "dataset":
            return cron("Dataset"), "Triggered by datasets"
        return None, "Never, external triggers only"

    def _tasks(self, planned: PlannedDag) -> list[TaskSpec]:
        rng = self.rng
        n = self.settings.tasks_per_dag
        names = [f"{STEPS[j % len(STEPS)]}_{SUBJECTS[(planned.index + j) % len(SUBJECTS)]}" +
                 (f"_{j // len(STEPS)}" if j >= len(STEPS) else "") for j in range(n)]
        downstream: list[list[str]] = [[] for _ in range(n)]
        for j in range(1, n):
            for parent in {rng.randrange(max(0, j - 3), j) for _ in range(rng.choice((1, 1, 2)))}:
                downstream[parent].append(names[j])
        mapped = 1 + planned.index % (n - 1) if planned.index % 7 == 3 else None
        specs = []
        for j, name in enumerate(names):
            operator = "@task" if j == mapped else rng.choice(PLAIN_OPERATORS)
            if planned.index % 11 == 5 and j == n - 1:
                operator = "TriggerDagRunOperator"
            specs.append(TaskSpec(
                name, operator, sorted(downstream[j]),
                pool=rng.choice(self.pools) if rng.random() < 0.3 else "default_pool",
                retries=rng.choice((0, 1, 1, 2, 3)),
                map_length=rng.randint(2, 5) if j == mapped else None,
                outlets=[planned.produces] if planned.produces and j == n - 1 else (),
            ))
        return specs

    def _source(self, planned: PlannedDag, specs: list[TaskSpec], owner: str) -> str:
        lines = ['"""' + planned.dag_id.replace("_", " ").capitalize() + '."""', "from datetime import datetime", "",
                 "from airflow import DAG", "from airflow.operators.bash import BashOperator", "",
                 f'with DAG(dag_id="{planned.dag_id}", start_date=datetime(2024, 1, 1), catchup=False,',
                 f'         default_args={{"owner": "{owner}"}}) as dag:']
        lines += [f'    {spec.task_id} = BashOperator(task_id="{spec.task_id}", bash_command="run {spec.task_id}")'
                  for spec in specs]
        lines += [f"    {spec.task_id} >> [{', '.join(spec.downstream)}]" for spec in specs if spec.downstream]
        return "\n".join(lines) + "\n"

    # --- runs and task instances ---------------------------------------------------------------
    def _run(self, planned: PlannedDag, specs: list[TaskSpec], weights: dict[str, int], number: int,
             count: int) -> JSON:
        rng = self.rng
        age = count - 1 - number  # 0 = the newest run
        logical = END - age * planned.step
        run_type = {"cron": "scheduled", "timedelta": "scheduled", "dataset": "dataset_triggered"}.get(
            planned.kind, "manual")
        if planned.kind == "once" and number == 0:
            run_type = "scheduled"
        if run_type == "manual":
            logical += timedelta(seconds=rng.randint(0, 3599))
        interval = (logical - planned.step, logical) if run_type != "manual" else (logical, logical)
        state = "success"
        if age == 0:
            state = ("running", "queued", "success")[planned.index % 3]
        elif rng.random() < 0.08:
            state = "failed"
        start = logical + timedelta(seconds=rng.randint(2, 90))
        run = run_wire(planned.dag_id, run_id_for(run_type, logical), logical_date=logical, interval=interval,
                       state=state, run_type=run_type, start=None if state == "queued" else start, end=None,
                       conf={"full_refresh": True} if run_type == "manual" and rng.random() < 0.3 else None,
                       note=self.fake.sentence(nb_words=6) if rng.random() < 0.03 else None)
        tis, end = self._task_instances(run, specs, weights, state, start, age < RECENT_RUNS)
        if state in ("success", "failed"):
            run["end_date"] = run["last_scheduling_decision"] = iso(end)
        run["task_instances"] = tis
        return run

    def _outcomes(self, specs: list[TaskSpec], run_state: str) -> dict[str, str | None]:
        rng = self.rng
        if run_state == "queued":
            return dict.fromkeys((spec.task_id for spec in specs), None)
        states: dict[str, str | None] = dict.fromkeys((spec.task_id for spec in specs), "success")
        if run_state == "success" and rng.random() < 0.15:
            states[rng.choice(specs[1:]).task_id] = "skipped"
        if run_state == "failed":
            failed = rng.choice(specs)
            states[failed.task_id] = "failed"
            for below in self._below(specs, failed.task_id):
                states[below] = "upstream_failed"
        if run_state == "running":
            cut = rng.randrange(1, len(specs))
            for spec in specs[cut:]:
                states[spec.task_id] = None
            states[specs[cut].task_id] = rng.choice(RUNNING_STATES)
        return states

    @staticmethod
    def _below(specs: list[TaskSpec], task_id: str) -> list[str]:
        by_id = {spec.task_id: spec for spec in specs}
        found: list[str] = []
        todo = list(by_id[task_id].downstream)
        while todo:
            child = todo.pop()
            if child not in found:
                found.append(child)
                todo.extend(by_id[child].downstream)
        return found

    def _task_instances(self, run: JSON, specs: list[TaskSpec], weights: dict[str, int], run_state: str,
                        start: datetime, recent: bool) -> tuple[list[JSON], datetime]:
        rng = self.rng
        outcomes = self._outcomes(specs, run_state)
        clock = start
        tis = []
        for spec in specs:
            indexes = range(spec.map_length) if spec.map_length else (-1,)
            for map_index in indexes:
                state = outcomes[spec.task_id]
                attempt = self._attempt(spec, state, clock)
                ti = ti_wire(run, spec, attempt, map_index=map_index, weight=weights[spec.task_id])
                if recent:
                    self._extras(run, spec, ti, attempt)
                tis.append(ti)
            if spec.map_length and run_state in ("success", "failed") and rng.random() < 0.2:
                # an expansion that a later parse no longer produced: Airflow marks it `removed`
                tis.append(ti_wire(run, spec, Attempt("removed"), map_index=spec.map_length,
                                   weight=weights[spec.task_id]))
            clock += timedelta(seconds=rng.randint(15, 600))
        return tis, clock

    def _attempt(self, spec: TaskSpec, state: str | None, clock: datetime) -> Attempt:
        rng = self.rng
        worker = f"worker-{rng.randint(0, 7)}"
        took = timedelta(seconds=rng.randint(3, 900), microseconds=rng.randint(0, 999999))
        queued = clock - timedelta(seconds=rng.randint(1, 5))
        if state in ("success", "failed"):
            tries = spec.retries + 1 if state == "failed" else (1 if rng.random() < 0.9 else min(2, spec.retries + 1))
            return Attempt(state, tries, clock, clock + took, queued, worker, rng.randint(1000, 60000))
        if state == "up_for_retry":
            return Attempt(state, 1, clock, clock + took, queued, worker, rng.randint(1000, 60000))
        if state in ("running", "deferred", "up_for_reschedule"):
            return Attempt(state, 1, clock, None, queued, worker, rng.randint(1000, 60000))
        if state in ("skipped", "upstream_failed"):
            return Attempt(state, 0, clock, clock)
        if state == "queued":
            return Attempt(state, 0, None, None, queued)
        return Attempt(state, 0)

    def _extras(self, run: JSON, spec: TaskSpec, ti: JSON, attempt: Attempt) -> None:
        """XComs and logs (recent runs only)."""
        if attempt.state == "success" and spec.operator == "@task":
            ti["xcom_entries"] = [{"key": "return_value", "timestamp": ti["end_date"],
                                   "execution_date": run["logical_date"], "task_id": spec.task_id,
                                   "dag_id": run["dag_id"], "value": str(self.rng.randint(0, 100000))}]
        if attempt.state == "success" and spec.outlets and ti["map_index"] == -1:
            self.producer_runs.append((run["dag_id"], spec.task_id, run["dag_run_id"], ti["end_date"]))
        if attempt.tries and attempt.start:
            final = {"success": "SUCCESS", "failed": "FAILED", "up_for_retry": "UP_FOR_RETRY"}.get(
                str(attempt.state), "RUNNING")
            ti["logs"] = [{"try_number": n, "content": log_text(
                ti, n, final if n == attempt.tries else "UP_FOR_RETRY",
                at=attempt.start - (attempt.tries - n) * spec.retry_delay)} for n in range(1, attempt.tries + 1)]
