"""Reference checks of a fixture set: everything an object names must exist.

The schema says what one object looks like; these checks say whether the objects fit together
(a run of a known DAG, a task instance of a known task, a user with known roles, ...). They read
plain wire data, so they are defensive about types: the schema check reports wrong types.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import field
from typing import Any

from mockflow.store.builtins import DEFAULT_ACTIONS, DEFAULT_POOL, DEFAULT_ROLES
from mockflow.values import value_class
from mockflow.wire import parse_datetime

JSON = dict[str, Any]
KeyPath = tuple[str | int, ...]
Found = tuple[KeyPath, str]  # (where inside the object, what is wrong)


@value_class(slots=True)
class DagRefs:
    """What other files may point at inside one DAG file."""

    task_ids: set[str] = field(default_factory=set)
    run_ids: set[str] = field(default_factory=set)


@value_class(slots=True)
class Known:
    """Names that exist in the (layered) set, for checking references against."""

    pools: set[str] = field(default_factory=lambda: {DEFAULT_POOL})
    roles: set[str] = field(default_factory=lambda: set(DEFAULT_ROLES))
    actions: set[str] = field(default_factory=lambda: set(DEFAULT_ACTIONS))
    datasets: dict[int, str] = field(default_factory=dict)  # id -> uri
    # DAGs with a "non-existent pool" warning may name unknown pools: that is what the warning says.
    pool_warned: set[str] = field(default_factory=set)
    dags: dict[str, DagRefs] = field(default_factory=dict)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dicts(value: Any) -> Iterator[tuple[int, JSON]]:
    for index, item in enumerate(_list(value)):
        if isinstance(item, dict):
            yield index, item


def _same_instant(a: Any, b: Any) -> bool:
    if a == b:  # the usual case, without parsing (a million task instances make this count)
        return True
    try:
        return parse_datetime(a) == parse_datetime(b)
    except (TypeError, ValueError):
        return True  # not a date: the schema check says so


# --- one DAG file ---------------------------------------------------------------------------

def check_dag(data: JSON, known: Known) -> Iterator[Found]:
    tasks: dict[str, JSON] = {}
    for index, task in _dicts(data.get("tasks")):
        task_id = task.get("task_id")
        if task_id in tasks:
            yield ("tasks", index, "task_id"), f"duplicate task_id {task_id!r}"
        tasks[str(task_id)] = task
        yield from _prefixed(("tasks", index), _check_task(data, task, known))
    for index, task in _dicts(data.get("tasks")):
        for position, downstream in enumerate(_list(task.get("downstream_task_ids"))):
            if downstream not in tasks:
                yield ("tasks", index, "downstream_task_ids", position), f"unknown task {downstream!r}"
    cycle = _cycle(tasks)
    if cycle:
        yield ("tasks",), "the task dependencies form a cycle: " + " -> ".join(cycle)
    yield from _check_stored_tag_order(data)
    root = data.get("root_dag_id")
    if root is not None and root not in known.dags and root != data.get("dag_id"):
        yield ("root_dag_id",), f"unknown DAG {root!r}"
    run_ids: set[Any] = set()
    logical_dates: set[Any] = set()
    for index, run in _dicts(data.get("dag_runs")):
        yield from _prefixed(("dag_runs", index), _check_run(data, run, tasks, known, run_ids, logical_dates))


def _check_stored_tag_order(data: JSON) -> Iterator[Found]:
    mock = data.get("x-mockflow")
    order = mock.get("stored_tag_order") if isinstance(mock, dict) else None
    declared = sorted(str(t.get("name")) if isinstance(t, dict) else str(t) for t in _list(data.get("tags")))
    if isinstance(order, list) and sorted(map(str, order)) != declared:
        yield ("x-mockflow", "stored_tag_order"), f"must list the same tags as `tags` ({declared}), in another order"


def dag_refs(data: JSON) -> DagRefs:
    return DagRefs(
        task_ids={str(task.get("task_id")) for _, task in _dicts(data.get("tasks"))},
        run_ids={str(run.get("dag_run_id")) for _, run in _dicts(data.get("dag_runs"))},
    )


def _prefixed(prefix: KeyPath, found: Iterable[Found]) -> Iterator[Found]:
    for path, message in found:
        yield prefix + path, message


def _pool_known(dag: JSON, pool: Any, known: Known) -> bool:
    return pool is None or pool in known.pools or dag.get("dag_id") in known.pool_warned


def _check_task(dag: JSON, task: JSON, known: Known) -> Iterator[Found]:
    if not _pool_known(dag, task.get("pool"), known):
        yield ("pool",), f"unknown pool {task['pool']!r}"
    mock = task.get("x-mockflow") or {}
    if mock.get("map_length") is not None and not task.get("is_mapped"):
        yield ("x-mockflow", "map_length"), "map_length is set on a task that is not mapped (is_mapped is false)"


def _cycle(tasks: Mapping[str, JSON]) -> list[str]:
    """A dependency cycle as a list of task ids (empty when the graph is acyclic)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(task_id: str, path: list[str]) -> list[str]:
        state[task_id] = 1
        for child in _list(tasks[task_id].get("downstream_task_ids")):
            if child not in tasks:
                continue
            if state.get(child) == 1:
                return [*path, task_id, child]
            if child not in state:
                found = visit(child, [*path, task_id])
                if found:
                    return found
        state[task_id] = 2
        return []

    for task_id in tasks:
        if task_id not in state:
            found = visit(task_id, [])
            if found:
                return found[found.index(found[-1]):]
    return []


def _check_run(dag: JSON, run: JSON, tasks: Mapping[str, JSON], known: Known, run_ids: set[Any],
               logical_dates: set[Any]) -> Iterator[Found]:
    run_id = run.get("dag_run_id")
    if run_id in run_ids:
        yield ("dag_run_id",), f"duplicate dag_run_id {run_id!r}"
    run_ids.add(run_id)
    if run.get("dag_id") is not None and run["dag_id"] != dag.get("dag_id"):
        yield ("dag_id",), f"run of DAG {run['dag_id']!r} inside the file of DAG {dag.get('dag_id')!r}"
    logical = run.get("logical_date") or run.get("execution_date")
    if logical is None:
        yield ("logical_date",), "a DAG run needs a logical_date"
    elif not _same_instant(logical, run.get("execution_date") or logical):
        yield ("execution_date",), "execution_date differs from logical_date"
    else:
        instant = _instant(logical)
        if instant in logical_dates:
            yield ("logical_date",), f"another run of this DAG has the logical date {logical}"
        logical_dates.add(instant)
    seen: set[tuple[Any, Any]] = set()
    for index, ti in _dicts(run.get("task_instances")):
        key = (ti.get("task_id"), ti.get("map_index", -1))
        if key in seen:
            yield ("task_instances", index), f"duplicate task instance {key[0]!r} map_index {key[1]}"
        seen.add(key)
        yield from _prefixed(("task_instances", index), _check_task_instance(dag, run, ti, tasks, known))


def _instant(value: Any) -> Any:
    try:
        return parse_datetime(value)
    except (TypeError, ValueError):
        return value


def _check_task_instance(dag: JSON, run: JSON, ti: JSON, tasks: Mapping[str, JSON], known: Known) -> list[Found]:
    """Problems of one task instance; a list, so that the common case (none) costs little."""
    found: list[Found] = []
    task_id = ti.get("task_id")
    for name, expected in (("dag_id", dag.get("dag_id")), ("dag_run_id", run.get("dag_run_id"))):
        if ti.get(name) is not None and ti[name] != expected:
            found.append(((name,), f"{ti[name]!r} does not match the enclosing {name} {expected!r}"))
    if ti.get("execution_date") is not None and not _same_instant(
            ti["execution_date"], run.get("logical_date") or run.get("execution_date")):
        found.append((("execution_date",), "differs from the run's logical_date"))
    if not _pool_known(dag, ti.get("pool"), known):
        found.append((("pool",), f"unknown pool {ti['pool']!r}"))
    task = tasks.get(str(task_id))
    if task is None:
        found.append((("task_id",), f"unknown task {task_id!r} (not in this DAG's tasks)"))
        return found
    found.extend(_check_map_index(ti, task))
    if "xcom_entries" in ti:
        found.extend(_check_xcoms(dag, ti))
    if "logs" in ti:
        found.extend(_check_logs(ti))
    return found


def _check_xcoms(dag: JSON, ti: JSON) -> Iterator[Found]:
    keys: set[Any] = set()
    for index, xcom in _dicts(ti.get("xcom_entries")):
        if xcom.get("key") in keys:
            yield ("xcom_entries", index, "key"), f"duplicate XCom key {xcom.get('key')!r}"
        keys.add(xcom.get("key"))
        for name, expected in (("dag_id", dag.get("dag_id")), ("task_id", ti.get("task_id"))):
            if xcom.get(name) is not None and xcom[name] != expected:
                yield ("xcom_entries", index, name), f"{xcom[name]!r} does not match the task instance's {expected!r}"


def _check_map_index(ti: JSON, task: JSON) -> Iterator[Found]:
    map_index = ti.get("map_index", -1)
    if (map_index == -1 and not task.get("is_mapped")) or not isinstance(map_index, int):
        return
    if map_index >= 0 and not task.get("is_mapped"):
        yield ("map_index",), f"map_index {map_index} on task {task.get('task_id')!r}, which is not mapped"
    length = (task.get("x-mockflow") or {}).get("map_length")
    # An expansion beyond today's length is what Airflow marks `removed`.
    if isinstance(length, int) and map_index >= length and ti.get("state") != "removed":
        yield ("map_index",), f"map_index {map_index} is beyond the task's map_length {length}"
    if map_index < -1:
        yield ("map_index",), "map_index must be -1 (unmapped) or an expansion index from 0"


def _check_logs(ti: JSON) -> Iterator[Found]:
    logs = ti.get("logs")
    tries: list[tuple[KeyPath, Any]]
    if isinstance(logs, dict):
        tries = [(("logs", key), key) for key in logs]
    else:
        tries = [(("logs", index, "try_number"), log.get("try_number")) for index, log in _dicts(logs)]
    seen: set[int] = set()
    tried = ti.get("try_number") or 0
    for path, raw in tries:
        try:
            number = int(raw)
        except (TypeError, ValueError):
            continue
        if number in seen:
            yield path, f"two logs for try {number}"
        seen.add(number)
        if isinstance(tried, int) and number > tried:
            yield path, f"log for try {number}, but the task instance has try_number {tried}"


# --- the one-list files -----------------------------------------------------------------------

def check_user(user: JSON, known: Known) -> Iterator[Found]:
    for index, role in _dicts(user.get("roles")):
        if role.get("name") not in known.roles:
            yield ("roles", index, "name"), f"unknown role {role.get('name')!r}"


def check_role(role: JSON, known: Known) -> Iterator[Found]:
    for index, grant in _dicts(role.get("actions")):
        action = (grant.get("action") or {}).get("name")
        resource = (grant.get("resource") or {}).get("name")
        if action not in known.actions:
            yield ("actions", index, "action", "name"), f"unknown action {action!r} (not in permissions)"
        if isinstance(resource, str) and resource.startswith("DAG:") and resource[4:] not in known.dags:
            yield ("actions", index, "resource", "name"), f"DAG-level permission for unknown DAG {resource[4:]!r}"


def check_dataset(dataset: JSON, known: Known) -> Iterator[Found]:
    for index, consumer in _dicts(dataset.get("consuming_dags")):
        if consumer.get("dag_id") not in known.dags:
            yield ("consuming_dags", index, "dag_id"), f"unknown DAG {consumer.get('dag_id')!r}"
    for index, producer in _dicts(dataset.get("producing_tasks")):
        yield from _prefixed(("producing_tasks", index), _task_ref(producer, "dag_id", "task_id", known))


def check_dataset_event(event: JSON, known: Known) -> Iterator[Found]:
    uri = known.datasets.get(event.get("dataset_id"))  # type: ignore[arg-type]
    if uri is None:
        yield ("dataset_id",), f"unknown dataset id {event.get('dataset_id')!r} (not in datasets)"
    elif event.get("dataset_uri") is not None and event["dataset_uri"] != uri:
        yield ("dataset_uri",), f"dataset {event.get('dataset_id')} has the uri {uri!r}"
    # The source_* columns are plain text on Airflow (no foreign key): they may name runs and DAGs
    # deleted since, so only the runs the event created (a real association) must exist.
    for index, run in _dicts(event.get("created_dagruns")):
        refs = known.dags.get(run.get("dag_id"))  # type: ignore[arg-type]
        if refs is None:
            yield ("created_dagruns", index, "dag_id"), f"unknown DAG {run.get('dag_id')!r}"
        elif run.get("dag_run_id") not in refs.run_ids:
            yield ("created_dagruns", index, "dag_run_id"), f"unknown run {run.get('dag_run_id')!r}"


def check_dag_warning(warning: JSON, known: Known) -> Iterator[Found]:
    if warning.get("dag_id") not in known.dags:
        yield ("dag_id",), f"unknown DAG {warning.get('dag_id')!r}"


def _task_ref(item: JSON, dag_key: str, task_key: str, known: Known) -> Iterator[Found]:
    refs = known.dags.get(item.get(dag_key))  # type: ignore[arg-type]
    if refs is None:
        yield (dag_key,), f"unknown DAG {item.get(dag_key)!r}"
    elif item.get(task_key) is not None and item[task_key] not in refs.task_ids:
        yield (task_key,), f"unknown task {item[task_key]!r} of DAG {item[dag_key]!r}"


# Checks of list items that point into DAG files, run once every DAG file is known.
AFTER_DAGS = {
    "roles": check_role,
    "datasets": check_dataset,
    "dataset_events": check_dataset_event,
    "dag_warnings": check_dag_warning,
}
BEFORE_DAGS = {"users": check_user}
