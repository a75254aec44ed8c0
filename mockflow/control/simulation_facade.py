"""The simulation's controls in Python, mixed into `Control`: the same names and wire dicts as
`/_mockflow/simulation...` (checked against the control spec)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mockflow.problems import BadRequest
from mockflow.simulation import Simulation, simulation_of
from mockflow.simulation.engine import IDLE_LIMIT, mode_of
from mockflow.wire import iso

if TYPE_CHECKING:
    from mockflow.app import MockflowApp
    from mockflow.control.namespaces import Namespace

JSON = dict[str, Any]


class SimulationControls:
    _app: MockflowApp
    _space: Namespace

    def _checked(self, operation_id: str, body: Mapping[str, Any]) -> JSON:
        """The body as the HTTP endpoint would accept it: validated against the control spec."""
        return dict(self._app.control_checks.check_body(operation_id, dict(body)))

    def _simulation(self) -> Simulation:
        settings = self._app.settings
        return simulation_of(self._space.store, mode_of(settings.simulation), settings.simulation_speed)

    def get_simulation(self) -> JSON:
        simulation = self._simulation()
        with self._space.store.lock:  # the scripts change under the lock only
            return {"mode": simulation.mode, "speed": simulation.speed, "scripts": simulation.book.to_wire()}

    def put_simulation(self, change: Mapping[str, Any]) -> JSON:
        """A new mode or speed; virtual time freezes the clock where it is, real time lets it run."""
        change = self._checked("put_simulation", change)
        simulation, store = self._simulation(), self._space.store
        with store.lock:
            self._catch_up()  # what was due under the old mode happens first
            mode = mode_of(change.get("mode", simulation.mode))
            simulation.configure(mode, float(change.get("speed", simulation.speed)))
            if "mode" in change and mode == "virtual":
                store.clock.freeze()
            elif "mode" in change and mode == "real":
                store.clock.unfreeze()
        return self.get_simulation()

    def post_simulation_script(self, entry: Mapping[str, Any]) -> JSON:
        entry = self._checked("post_simulation_script", entry)
        dag_id, task_id, run_id = entry["dag_id"], entry.get("task_id"), entry.get("dag_run_id")
        store = self._space.store
        with store.lock:
            dag = store.state.dags.get(dag_id)
            if dag is None:
                raise BadRequest(f"No DAG {dag_id!r} to script", title="Invalid script")
            if task_id is not None and task_id not in dag.tasks:
                raise BadRequest(f"DAG {dag_id!r} has no task {task_id!r}", title="Invalid script")
            if run_id is not None and task_id is None:
                raise BadRequest("A script for one run names its task_id too", title="Invalid script")
            self._simulation().book.add(dag_id, task_id, run_id, entry["script"])
        return self.get_simulation()

    def _reset_simulation(self) -> None:
        """What a reset does to the simulation: no run-time scripts, the configured mode and speed."""
        settings, store = self._app.settings, self._space.store
        with store.lock:
            simulation = self._simulation()
            simulation.book.clear()
            simulation.configure(mode_of(settings.simulation), settings.simulation_speed)

    def delete_simulation_scripts(self) -> None:
        with self._space.store.lock:
            self._simulation().book.clear()

    def run_until_idle(self, options: Mapping[str, Any] | None = None) -> JSON:
        options = self._checked("run_until_idle", options or {})
        store = self._space.store
        moves, instants = self._simulation().run_until_idle(store, options.get("max_instants", IDLE_LIMIT))
        return {"now": iso(store.clock.now()), "moves": moves, "instants": instants}

    def _catch_up(self) -> None:
        """After the clock moved: what is due by the new now happens (when the mode follows it)."""
        simulation, store = self._simulation(), self._space.store
        with store.lock:
            if simulation.follows(store.clock):
                simulation.catch_up(store.state, store.clock.now())
