"""All tables of the in-memory Airflow, in one object that can be copied and swapped whole."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import field
from typing import Any

from mockflow.store.changes import Changes
from mockflow.store.records import (
    Connection,
    Dag,
    DagRun,
    DagWarning,
    Dataset,
    DatasetEvent,
    EventLog,
    ImportErrorRecord,
    LogChunk,
    Pool,
    Role,
    TaskInstance,
    User,
    Variable,
    XCom,
)
from mockflow.store.tables import RunKey, RunTable, TaskInstanceKey, TaskInstanceTable
from mockflow.values import value_class

JSON = dict[str, Any]
__all__ = ["JSON", "RunKey", "State", "TaskInstanceKey"]


@value_class
class State:
    """Dicts keep insertion order, which is the order Airflow's `id` columns give."""

    pools: dict[str, Pool] = field(default_factory=dict)
    variables: dict[str, Variable] = field(default_factory=dict)
    connections: dict[str, Connection] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)  # keyed by lower-cased username
    roles: dict[str, Role] = field(default_factory=dict)
    actions: list[str] = field(default_factory=list)  # what GET /permissions lists
    event_logs: dict[int, EventLog] = field(default_factory=dict)
    import_errors: dict[int, ImportErrorRecord] = field(default_factory=dict)
    dag_warnings: list[DagWarning] = field(default_factory=list)
    dags: dict[str, Dag] = field(default_factory=dict)
    # The run and task-instance tables own their indexes; write to them through their methods.
    dag_runs: RunTable = field(default_factory=RunTable)
    task_instances: TaskInstanceTable = field(default_factory=TaskInstanceTable)
    xcoms: dict[tuple[str, str, str, int, str], XCom] = field(default_factory=dict)
    logs: dict[tuple[str, str, str, int, int], LogChunk] = field(default_factory=dict)
    datasets: dict[int, Dataset] = field(default_factory=dict)
    dataset_events: dict[int, DatasetEvent] = field(default_factory=dict)
    plugins: list[JSON] = field(default_factory=list)
    providers: list[JSON] = field(default_factory=list)
    config: JSON = field(default_factory=dict)  # {"sections": [...]} as GET /config returns it
    version: JSON = field(default_factory=dict)
    # The last id handed out per table (Airflow's autoincrement columns).
    last_ids: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # The undo log of a live state (off while a state is built); not part of the state's value.
    changes: Changes = field(default_factory=Changes, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.attach_changes()

    def attach_changes(self) -> None:
        """The tables write to this state's log (after a table was swapped in whole, say), and
        task instances read their runs' logical dates from this state's runs."""
        self.dag_runs.changes = self.changes
        self.task_instances.changes = self.changes
        self.task_instances.runs = self.dag_runs

    # Read-only views of the tables' indexes, for readers outside the DAG domain.
    @property
    def runs_by_dag(self) -> Mapping[str, Mapping[str, DagRun]]:
        return self.dag_runs.by_dag

    @property
    def tis_by_run(self) -> Mapping[RunKey, Mapping[tuple[str, int], TaskInstance]]:
        return self.task_instances.by_run

    def next_id(self, table: str) -> int:
        value = self.last_ids.get(table, 0) + 1
        self.changes.put(self.last_ids, table, value)
        return value

    def note_id(self, table: str, value: int) -> None:
        """Records an id that came from fixtures, so later ones do not collide with it."""
        if value > self.last_ids.get(table, 0):
            self.changes.put(self.last_ids, table, value)
