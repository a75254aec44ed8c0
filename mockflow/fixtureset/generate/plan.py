"""What a generated set will hold, decided before anything is written: the planned DAGs, pools and
datasets, and the one random source (and Faker) every part of the generator draws from, in order.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import field
from datetime import UTC, datetime, timedelta
from typing import Any

from faker import Faker

from mockflow.values import value_class

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


@value_class(frozen=True, slots=True)
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


@value_class(slots=True)
class PlannedDag:
    index: int
    dag_id: str
    kind: str  # cron, timedelta, once, none, dataset
    step: timedelta
    produces: str | None = None  # dataset URI of its last task
    consumes: list[str] = field(default_factory=list)


class Plan:
    """The shared state of one generation; the DAG and list makers draw from its `rng` in turn."""

    def __init__(self, settings: GeneratorSettings) -> None:
        self.settings = settings
        self.rng = random.Random(settings.seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(settings.seed)
        kinds = SUBJECTS[: max(3, min(16, settings.dags // 50))]
        self.pools = ["default_pool", *(f"{subject}_pool" for subject in kinds)]
        self.dags = self._plan()
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
        for dag in self.dags:
            if dag.produces:
                yield dag.produces
