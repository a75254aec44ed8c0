"""What a simulated task does: its duration, the outcome of each try, the XComs it pushes, its log
lines, the branch it follows. Scripts come from fixtures (`x-mockflow` of a DAG or a task) and from
the control API (for a DAG, a task, or one run's task); the most specific one wins, key by key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import Any

from mockflow.store.records import Dag, Task
from mockflow.values import value_class

JSON = dict[str, Any]

DEFAULT_DURATION = 5.0  # seconds a try runs when nothing says otherwise
OUTCOMES = ("success", "failed", "skipped")

# The scripting keys, as JSON Schema properties (fixtures and the control API share them).
SCRIPT_PROPERTIES: JSON = {
    "duration": {"type": "number", "minimum": 0},
    "outcomes": {"type": "array", "items": {"enum": list(OUTCOMES)}, "minItems": 1},
    "xcoms": {"type": "object"},
    "return_value": {},
    "log": {"type": "array", "items": {"type": "string"}},
    "branch": {"type": "array", "items": {"type": "string"}},
    "short_circuit": {},
    "ignore_downstream_trigger_rules": {"type": "boolean"},
}
SCRIPT_KEYS = frozenset(SCRIPT_PROPERTIES)


@value_class(frozen=True, slots=True)
class Script:
    """One try's script, resolved: every key has its value."""

    duration: float = DEFAULT_DURATION
    outcomes: tuple[str, ...] = ("success",)
    xcoms: Mapping[str, Any] = field(default_factory=dict)
    return_value: Any = None
    has_return_value: bool = False
    log: tuple[str, ...] = ()
    branch: tuple[str, ...] | None = None  # the downstream task ids a branching task follows
    # A short-circuit's condition result (its callable's return); falsy skips what is downstream.
    short_circuit: Any = None
    has_short_circuit: bool = False
    ignore_downstream_trigger_rules: bool = True  # False: only the direct downstream tasks are skipped

    def outcome(self, try_number: int) -> str:
        """The outcome of try `try_number` (1-based); the last listed one repeats."""
        return self.outcomes[min(try_number, len(self.outcomes)) - 1]


def script_part(mock: Mapping[str, Any]) -> JSON:
    """The scripting keys of an `x-mockflow` object."""
    return {key: value for key, value in mock.items() if key in SCRIPT_KEYS}


@value_class
class ScriptBook:
    """Scripts set at run time: per DAG, per (DAG, task) and per (DAG, run, task)."""

    dags: dict[str, JSON] = field(default_factory=dict)
    tasks: dict[tuple[str, str], JSON] = field(default_factory=dict)
    runs: dict[tuple[str, str, str], JSON] = field(default_factory=dict)

    def add(self, dag_id: str, task_id: str | None, run_id: str | None, script: Mapping[str, Any]) -> None:
        if task_id is None:
            self.dags.setdefault(dag_id, {}).update(script)
        elif run_id is None:
            self.tasks.setdefault((dag_id, task_id), {}).update(script)
        else:
            self.runs.setdefault((dag_id, run_id, task_id), {}).update(script)

    def clear(self) -> None:
        self.dags.clear()
        self.tasks.clear()
        self.runs.clear()

    def to_wire(self) -> list[JSON]:
        rows = [{"dag_id": d, "script": s} for d, s in self.dags.items()]
        rows += [{"dag_id": d, "task_id": t, "script": s} for (d, t), s in self.tasks.items()]
        rows += [{"dag_id": d, "dag_run_id": r, "task_id": t, "script": s} for (d, r, t), s in self.runs.items()]
        return rows

    def duration(self, dag: Dag, task: Task, run_id: str) -> float:
        """The resolved script's duration alone: the scheduler asks for it at every look."""
        for layer in (self.runs.get((dag.dag_id, run_id, task.task_id)), self.tasks.get((dag.dag_id, task.task_id)),
                      self.dags.get(dag.dag_id), task.script, dag.script):
            if layer and "duration" in layer:
                return float(layer["duration"])
        return DEFAULT_DURATION

    def scripts_outcomes(self, dag: Dag, task: Task, run_id: str) -> bool:
        """Whether a script for this task itself (not its whole DAG) names its outcomes."""
        layers = (task.script, self.tasks.get((dag.dag_id, task.task_id)),
                  self.runs.get((dag.dag_id, run_id, task.task_id)))
        return any(layer and "outcomes" in layer for layer in layers)

    def resolve(self, dag: Dag, task: Task, run_id: str) -> Script:
        """Fixture DAG < fixture task < DAG < task < run, key by key."""
        layers: Sequence[Mapping[str, Any]] = (
            dag.script, task.script, self.dags.get(dag.dag_id, {}), self.tasks.get((dag.dag_id, task.task_id), {}),
            self.runs.get((dag.dag_id, run_id, task.task_id), {}))
        merged: JSON = {}
        for layer in layers:
            merged.update(layer)
        return _script(merged)


def _script(merged: Mapping[str, Any]) -> Script:
    branch = merged.get("branch")
    return Script(duration=float(merged.get("duration", DEFAULT_DURATION)),
                  outcomes=tuple(merged.get("outcomes") or ("success",)),
                  xcoms=dict(merged.get("xcoms") or {}),
                  return_value=merged.get("return_value"), has_return_value="return_value" in merged,
                  log=tuple(merged.get("log") or ()),
                  branch=None if branch is None else tuple(branch),
                  short_circuit=merged.get("short_circuit", True), has_short_circuit="short_circuit" in merged,
                  ignore_downstream_trigger_rules=bool(merged.get("ignore_downstream_trigger_rules", True)))
