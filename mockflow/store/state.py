"""All tables of the in-memory Airflow, in one object that can be copied and swapped whole."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

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

JSON = dict[str, Any]
RunKey = tuple[str, str]  # (dag_id, dag_run_id)
TaskInstanceKey = tuple[str, str, str, int]  # (dag_id, dag_run_id, task_id, map_index)


@dataclass
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
    dag_runs: dict[RunKey, DagRun] = field(default_factory=dict)
    # dag_id -> run ids of that DAG, in creation order (the index every run filter starts from)
    runs_by_dag: dict[str, dict[str, DagRun]] = field(default_factory=lambda: defaultdict(dict))
    task_instances: dict[TaskInstanceKey, TaskInstance] = field(default_factory=dict)
    # (dag_id, dag_run_id) -> that run's task instances, in creation order
    tis_by_run: dict[RunKey, dict[tuple[str, int], TaskInstance]] = field(default_factory=lambda: defaultdict(dict))
    # state -> task instances in that state (store/ti_index.py keeps it, in creation order)
    tis_by_state: dict[str | None, dict[TaskInstanceKey, TaskInstance]] = field(
        default_factory=lambda: defaultdict(dict))
    # states whose bucket needs sorting before its next read (not part of what a state *is*)
    unsorted_states: set[str | None] = field(default_factory=set, compare=False)
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

    def next_id(self, table: str) -> int:
        self.last_ids[table] += 1
        return self.last_ids[table]

    def note_id(self, table: str, value: int) -> None:
        """Records an id that came from fixtures, so later ones do not collide with it."""
        if value > self.last_ids[table]:
            self.last_ids[table] = value
