"""Typed access to one namespace's store, for arranging a test and asserting on its outcome.

    mock.store.dag_runs("etl")[-1].state == "success"
    mock.store.set_run_state("etl", "manual__2024-01-01T00:00:00+00:00", "failed")

Reads return the live records (read them, do not assign to them); changes go through the same
domain rules the API uses, under the store lock, so they cascade (a run marked success marks its
task instances) and a reset undoes them. `state()` gives the whole `State` under the lock for
anything else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from mockflow.store import Store, dag_runs, pools, variables
from mockflow.store.records import Connection, Dag, DagRun, Pool, TaskInstance, User, Variable, XCom
from mockflow.store.state import State

T = TypeVar("T")
K = TypeVar("K")
V = TypeVar("V")


class StoreView:
    def __init__(self, store: Callable[[], Store]) -> None:
        self._store = store  # a getter: the namespace's store may be swapped by a state import

    @property
    def raw(self) -> Store:
        """The `Store` itself (lock, seed, reset)."""
        return self._store()

    @contextmanager
    def state(self) -> Iterator[State]:
        """The live `State`, with the store lock held for the block."""
        store = self._store()
        with store.lock:
            yield store.state

    # --- reads -------------------------------------------------------------------------------

    def dags(self) -> list[Dag]:
        return self._read(lambda state: list(state.dags.values()))

    def dag(self, dag_id: str) -> Dag:
        return self._read(lambda state: _found(state.dags, dag_id, "DAG"))

    def dag_runs(self, dag_id: str) -> list[DagRun]:
        """The DAG's runs in table (id) order."""
        return self._read(lambda state: sorted(state.dag_runs.of_dag(dag_id), key=lambda run: run.id))

    def dag_run(self, dag_id: str, run_id: str) -> DagRun:
        return self._read(lambda state: _present(dag_runs.find_run(state, dag_id, run_id),
                                                 f"DAG run {dag_id}/{run_id}"))

    def task_instances(self, dag_id: str, run_id: str) -> list[TaskInstance]:
        return self._read(lambda state: list(state.task_instances.of_run(dag_id, run_id).values()))

    def task_instance(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> TaskInstance:
        return self._read(lambda state: _present(state.task_instances.of_run(dag_id, run_id).get((task_id, map_index)),
                                                 f"task instance {dag_id}/{run_id}/{task_id}[{map_index}]"))

    def xcoms(self, dag_id: str, run_id: str) -> list[XCom]:
        return self._read(lambda state: [xcom for xcom in state.xcoms.values()
                                         if (xcom.dag_id, xcom.dag_run_id) == (dag_id, run_id)])

    def pools(self) -> list[Pool]:
        return self._read(lambda state: list(state.pools.values()))

    def pool(self, name: str) -> Pool:
        return self._read(lambda state: _found(state.pools, name, "pool"))

    def variables(self) -> dict[str, str]:
        """key -> value."""
        return self._read(lambda state: {key: var.value for key, var in state.variables.items()})

    def variable(self, key: str) -> Variable:
        return self._read(lambda state: _found(state.variables, key, "variable"))

    def connections(self) -> list[Connection]:
        return self._read(lambda state: list(state.connections.values()))

    def users(self) -> list[User]:
        return self._read(lambda state: list(state.users.values()))

    # --- changes, through the domain rules ---------------------------------------------------

    def set_variable(self, key: str, value: str) -> Variable:
        return self._write(lambda state: variables.set_variable(state, key, value))

    def create_pool(self, name: str, slots: int, description: str | None = None) -> Pool:
        return self._write(lambda state: pools.create_pool(state, name, slots, description))

    def trigger(self, dag_id: str, run_id: str | None = None, *, conf: Mapping[str, Any] | None = None,
                logical_date: datetime | None = None) -> DagRun:
        """A manual run, as `POST /dags/{dag_id}/dagRuns` makes one (at the store clock's time by default)."""
        store = self._store()

        def trigger(state: State) -> DagRun:
            dag = dag_runs.require_triggerable(state, dag_id)
            return dag_runs.trigger_dag(state, dag, run_id, logical_date or store.clock.now(), conf, None)

        return self._write(trigger)

    def set_run_state(self, dag_id: str, run_id: str, new_state: str) -> DagRun:
        """As `PATCH .../dagRuns/{run_id}` does: success or failed cascade to the task instances."""
        store = self._store()

        def change(state: State) -> DagRun:
            run = dag_runs.require_run(state, dag_id, run_id)
            dag_runs.update_state(state, run, new_state, store.clock.now())
            return run

        return self._write(change)

    # --- plumbing ----------------------------------------------------------------------------

    def _read(self, read: Callable[[State], T]) -> T:
        store = self._store()
        with store.lock:
            return read(store.state)

    _write = _read  # the same lock guards both; the name says which one a caller means


def _found(table: Mapping[K, V], key: K, what: str) -> V:
    return _present(table.get(key), f"{what} {key!r}")


def _present(value: V | None, what: str) -> V:
    if value is None:
        raise LookupError(f"mockflow's store has no {what}")
    return value
