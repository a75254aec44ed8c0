"""`mockflow generate`: a large, realistic and deterministic fixture set, for scale testing.

The same settings give the same bytes: all randomness comes from one `random.Random(seed)` and a
Faker seeded with `seed_instance`, and no value depends on the clock. The set has the variety of
the default set (every schedule kind, mapped tasks, dataset producers and consumers, runs and task
instances in every state, XComs, logs of several tries, users in every role, ...) at any size.
DAG files are written as compact JSON, which loads about ten times faster than YAML.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import yaml
from faker import Faker

from mockflow.store.fixture_wire import (
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
from mockflow.store.seed import DEFAULT_ROLES
from mockflow.wire import iso

JSON = dict[str, Any]
END = datetime(2024, 6, 1, tzinfo=UTC)  # the newest logical date; a fixed point keeps output stable
SUBJECTS = ("orders", "customers", "payments", "shipments", "inventory", "invoices", "clickstream", "reviews",
            "campaigns", "refunds", "suppliers", "pricing", "sessions", "tickets", "subscriptions", "stores")
VERBS = ("ingest", "transform", "export", "sync", "aggregate", "validate", "train", "report", "backfill", "archive")
TEAMS = ("data-eng", "analytics", "ml-platform", "finance-data", "growth", "platform", "supply-chain")
TAGS = ("ingestion", "mart", "export", "ml", "finance", "quality", "hourly", "daily", "pii", "critical", "experimental")
STEPS = ("extract", "stage", "clean", "enrich", "join", "aggregate", "validate", "load", "publish", "notify",
         "snapshot", "dedupe", "score", "partition", "compact", "audit")
CRONS = (("0 * * * *", "At 0 minutes past the hour", timedelta(hours=1)),
         ("@daily", "At 00:00", timedelta(days=1)),
         ("30 2 * * *", "At 02:30", timedelta(days=1)),
         ("0 */4 * * *", "At 0 minutes past the hour, every 4 hours", timedelta(hours=4)),
         ("0 6 * * 1-5", "At 06:00, Monday through Friday", timedelta(days=1)),
         ("@weekly", "At 00:00, only on Sunday", timedelta(days=7)))
PLAIN_OPERATORS = ("BashOperator", "PythonOperator", "@task", "PostgresOperator", "SQLExecuteQueryOperator",
                   "SnowflakeOperator", "SimpleHttpOperator", "SSHOperator", "LocalFilesystemToS3Operator",
                   "EmptyOperator")
RECENT_RUNS = 5  # runs per DAG that keep XComs and logs (older ones were cleaned up, as in real deployments)
RUNNING_STATES = ("running", "queued", "scheduled", "up_for_retry", "up_for_reschedule", "deferred")


@dataclass(frozen=True, slots=True)
class GeneratorSettings:
    dags: int = 100
    runs_per_dag: int = 10
    tasks_per_dag: int = 10
    seed: int = 0
    fmt: str = "json"  # or "yaml"

    def check(self) -> None:
        if self.dags < 1 or self.runs_per_dag < 0 or self.tasks_per_dag < 2:
            raise ValueError("need at least 1 DAG, 0 runs and 2 tasks per DAG")
        if self.fmt not in ("json", "yaml"):
            raise ValueError(f"unknown format {self.fmt!r}")


@dataclass(slots=True)
class PlannedDag:
    index: int
    dag_id: str
    kind: str  # cron, timedelta, once, none, dataset
    step: timedelta
    produces: str | None = None  # dataset URI of its last task
    consumes: list[str] = field(default_factory=list)


class Generator:
    def __init__(self, settings: GeneratorSettings) -> None:
        self.settings = settings
        self.rng = random.Random(settings.seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(settings.seed)
        kinds = SUBJECTS[: max(3, min(16, settings.dags // 50))]
        self.pools = ["default_pool", *(f"{subject}_pool" for subject in kinds)]
        self.plan = self._plan()
        self.dataset_ids = {uri: n for n, uri in enumerate(self._dataset_uris(), start=1)}
        self.producer_runs: list[tuple[str, str, str, str]] = []  # (dag_id, task_id, run_id, end) of outlet TIs

    # --- planning ------------------------------------------------------------------------------
    def _plan(self) -> list[PlannedDag]:
        kinds = ("cron", "cron", "cron", "timedelta", "dataset", "cron", "none", "timedelta", "once", "cron")
        planned = []
        for index in range(self.settings.dags):
            subject = self.rng.choice(SUBJECTS)
            kind = kinds[index % len(kinds)] if self.settings.dags > 1 else "cron"
            step = self.rng.choice(CRONS)[2] if kind == "cron" else timedelta(hours=self.rng.choice((6, 12, 24)))
            dag = PlannedDag(index, f"{self.rng.choice(VERBS)}_{subject}_{index:04d}", kind, step)
            if index % 5 == 0:
                dag.produces = f"s3://lake-{subject}/{dag.dag_id}/"
            planned.append(dag)
        producers = [dag.produces for dag in planned if dag.produces]
        for dag in planned:
            if dag.kind == "dataset":
                dag.consumes = sorted(set(self.rng.sample(producers, min(len(producers), self.rng.randint(1, 2)))))
        return planned

    def _dataset_uris(self) -> Iterator[str]:
        for dag in self.plan:
            if dag.produces:
                yield dag.produces

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

    # --- the one-list files --------------------------------------------------------------------
    def small_files(self) -> dict[str, Any]:
        return {
            "pools": [{"name": name, "slots": 128 if name == "default_pool" else self.rng.choice((4, 8, 16, 32)),
                       "description": "Default pool" if name == "default_pool" else f"Slots for {name[:-5]} jobs"}
                      for name in self.pools],
            "variables": self._variables(),
            "connections": self._connections(),
            "roles": self._roles(),
            "users": self._users(),
            "datasets": [{"id": n, "uri": uri, "extra": {"owner": self.rng.choice(TEAMS)},
                          "created_at": iso(END - timedelta(days=90)), "updated_at": iso(END)}
                         for uri, n in self.dataset_ids.items()],
            "import_errors": [{"import_error_id": n, "timestamp": iso(END + timedelta(minutes=n)),
                               "filename": f"/opt/airflow/dags/{self.fake.word()}_{n}.py",
                               "stack_trace": f"Traceback (most recent call last):\n  File \"<frozen importlib>\", "
                                              f"line 241\nModuleNotFoundError: No module named '{self.fake.word()}'\n"}
                              for n in range(1, 2 + self.settings.dags // 200)],
            "dag_warnings": [{"dag_id": dag.dag_id, "warning_type": "non-existent pool",
                              "message": f"Dag '{dag.dag_id}' references non-existent pools: ['legacy_pool']",
                              "timestamp": iso(END)} for dag in self.plan[9::100]],
            "event_logs": self._event_logs(),
            "plugins": [{"name": "company_plugin", "hooks": ["CatalogHook"], "executors": [], "macros": [],
                         "flask_blueprints": [], "appbuilder_views": [], "appbuilder_menu_items": [],
                         "global_operator_extra_links": [], "operator_extra_links": [],
                         "source": "$PLUGINS_FOLDER/company_plugin.py"}],
            "providers": [{"package_name": f"apache-airflow-providers-{name}", "description": text, "version": version}
                          for name, text, version in PROVIDERS],
        }

    def _variables(self) -> list[JSON]:
        found = []
        for n in range(max(5, self.settings.dags // 10)):
            key = f"{self.fake.word()}_{self.fake.word()}_{n}"
            value: str = self.fake.word()
            if n % 3 == 0:
                value = json.dumps({"owner": self.rng.choice(TEAMS), "limit": self.rng.randint(1, 1000),
                                    "emails": [self.fake.email() for _ in range(2)]})
            elif n % 3 == 1:
                value = str(self.rng.randint(1, 10000))
            found.append({"key": key, "value": value, "description": self.fake.sentence(nb_words=5) if n % 2 else None})
        return found

    def _connections(self) -> list[JSON]:
        kinds = (("postgres", 5432), ("mysql", 3306), ("snowflake", None), ("aws", None), ("http", 443),
                 ("ssh", 22), ("sftp", 22), ("google_cloud_platform", None))
        found = []
        for n in range(max(8, self.settings.dags // 20)):
            conn_type, port = kinds[n % len(kinds)]
            found.append({"connection_id": f"{conn_type}_{self.fake.word()}_{n}", "conn_type": conn_type,
                          "description": self.fake.sentence(nb_words=4), "host": self.fake.hostname(),
                          "login": self.fake.user_name(), "schema": self.fake.word() if port else None, "port": port,
                          "password": self.fake.password(length=16),
                          "extra": json.dumps({"timeout": self.rng.randint(5, 60), "region": "eu-west-1"})
                          if n % 2 else None})
        return found

    def _roles(self) -> list[JSON]:
        roles = []
        for team in TEAMS[:3]:
            dags = [dag.dag_id for dag in self.plan if dag.index % len(TEAMS) == TEAMS.index(team)][:20]
            actions = [{"action": {"name": action}, "resource": {"name": f"DAG:{dag_id}"}}
                       for dag_id in dags for action in ("can_read", "can_edit")]
            actions += [{"action": {"name": "can_read"}, "resource": {"name": name}}
                        for name in ("DAG Runs", "Task Instances", "Task Logs")]
            roles.append({"name": f"{team.title().replace('-', '')}Team", "actions": actions})
        return roles

    def _users(self) -> list[JSON]:
        roles = [*DEFAULT_ROLES, *(f"{team.title().replace('-', '')}Team" for team in TEAMS[:3])]
        users = [{"username": name.lower(), "email": f"{name.lower()}@example.com", "first_name": name,
                  "last_name": "User", "roles": [{"name": name}], "password": name.lower(), "active": True}
                 for name in DEFAULT_ROLES]
        for n in range(max(5, self.settings.dags // 10)):
            first, last = self.fake.first_name(), self.fake.last_name()
            login = f"{first.lower()}.{last.lower()}{n}"
            users.append({"username": login, "email": f"{login}@example.com",
                          "first_name": first, "last_name": last, "roles": [{"name": roles[n % len(roles)]}],
                          "password": self.fake.password(length=12), "active": n % 17 != 16,
                          "created_on": iso(END - timedelta(days=self.rng.randint(1, 300)))[:19],  # type: ignore[index]
                          "login_count": self.rng.randint(0, 500), "fail_login_count": self.rng.randint(0, 3)})
        return users

    def _event_logs(self) -> list[JSON]:
        events = ("trigger", "paused", "dag_run.create", "variable.edit", "connection.create", "clear", "success",
                  "failed", "running", "cli_scheduler")
        logs = []
        for n in range(1, 1 + max(20, self.settings.dags)):
            dag = self.rng.choice(self.plan)
            logs.append({"event_log_id": n, "when": iso(END - timedelta(minutes=self.rng.randint(0, 100000))),
                         "dag_id": dag.dag_id if n % 4 else None, "task_id": None, "event": self.rng.choice(events),
                         "execution_date": None, "owner": self.rng.choice(("admin", "op", "airflow")),
                         "extra": None})
        return logs

    def dataset_events(self) -> list[JSON]:
        return [{"id": n, "dataset_id": self.dataset_ids[self._outlet(dag_id)], "dataset_uri": self._outlet(dag_id),
                 "extra": {}, "source_dag_id": dag_id, "source_task_id": task_id, "source_run_id": run_id,
                 "source_map_index": -1, "created_dagruns": [], "timestamp": end}
                for n, (dag_id, task_id, run_id, end) in enumerate(self.producer_runs, start=1)]

    def _outlet(self, dag_id: str) -> str:
        return next(dag.produces for dag in self.plan if dag.dag_id == dag_id and dag.produces)


PROVIDERS = (
    ("amazon", "Amazon integration (including Amazon Web Services (AWS)) https://aws.amazon.com/", "7.4.1"),
    ("common-sql", "Common SQL Provider https://en.wikipedia.org/wiki/SQL", "1.4.0"),
    ("google", "Google services", "8.12.0"),
    ("http", "Hypertext Transfer Protocol (HTTP) https://www.w3.org/Protocols/", "4.3.0"),
    ("mysql", "MySQL https://www.mysql.com/", "5.0.0"),
    ("postgres", "PostgreSQL https://www.postgresql.org/", "5.4.0"),
    ("sftp", "SSH File Transfer Protocol (SFTP) https://tools.ietf.org/wg/secsh/draft-ietf-secsh-filexfer/", "4.2.4"),
    ("snowflake", "Snowflake https://www.snowflake.com/", "4.0.5"),
    ("ssh", "Secure Shell (SSH) https://tools.ietf.org/html/rfc4251", "3.6.0"),
)


def _write(path: Path, data: Any, fmt: str, compact: bool = False) -> None:
    if fmt == "yaml":
        path.with_suffix(".yaml").write_text(yaml.dump(data, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
                                                       sort_keys=False, allow_unicode=True), encoding="utf-8")
    else:
        path.with_suffix(".json").write_bytes(orjson.dumps(data, option=0 if compact else orjson.OPT_INDENT_2))


def generate_set(settings: GeneratorSettings, out: str | Path) -> dict[str, int]:
    """Writes the set into `out` (which must not exist or be empty); returns what it wrote."""
    settings.check()
    directory = Path(out)
    if directory.exists() and any(directory.iterdir()):
        raise ValueError(f"{directory}: not empty (refusing to mix a generated set with other files)")
    (directory / "dags").mkdir(parents=True, exist_ok=True)
    generator = Generator(settings)
    counts = {"DAGs": 0, "runs": 0, "task instances": 0}
    for planned in generator.plan:
        dag = generator.dag(planned)
        counts["DAGs"] += 1
        counts["runs"] += len(dag["dag_runs"])
        counts["task instances"] += sum(len(run["task_instances"]) for run in dag["dag_runs"])
        _write(directory / "dags" / planned.dag_id, dag, settings.fmt, compact=True)
    files = generator.small_files()
    files["dataset_events"] = generator.dataset_events()
    for name, content in files.items():
        _write(directory / name, content, settings.fmt)
    counts["users"] = len(files["users"])
    counts["dataset events"] = len(files["dataset_events"])
    return counts
