"""`mockflow capture`: read a live Airflow 2.x through its REST API into a fixture set.

Everything is read as an API client sees it, so the written set is what that server answers:
DAGs (the list item merged with the details), tasks, sources, runs, task instances with their
XComs and logs, pools, variables, connections (no passwords; extras as the server masks them),
users (no passwords), roles, permissions, datasets and their events, import errors, DAG
warnings, event logs, plugins, providers, config (when exposed) and version.

What the API cannot tell is approximated and said so: XCom values of mapped task instances are
not readable one by one in 2.5.3 (skipped), a mapped task's `map_length` is the largest count of
expansions seen, and extra-link names come from one task instance per task.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from mockflow.fixtureset.export import write
from mockflow.values import value_class

JSON = dict[str, Any]
Progress = Callable[[str], None]
PAGE = 100


class CaptureError(Exception):
    """The server cannot be read: unreachable, credentials refused, or an unexpected answer."""


@value_class(frozen=True, slots=True)
class CaptureOptions:
    url: str
    user: str
    password: str
    max_runs: int | None = None  # newest runs per DAG to keep
    logs: bool = True
    timeout: float = 30.0
    fmt: str = "json"


def _q(value: str) -> str:
    return quote(value, safe="")


class Reader:
    """A thin client: JSON GETs with paging, and errors that say what went wrong."""

    def __init__(self, options: CaptureOptions, client: httpx.Client | None = None) -> None:
        base = options.url.rstrip("/")
        if not base.endswith("/api/v1"):
            base += "/api/v1"
        self.base = base
        self.user = options.user
        self.client = client or httpx.Client(auth=(options.user, options.password), timeout=options.timeout)

    def close(self) -> None:
        self.client.close()

    def response(self, path: str, params: dict[str, Any] | None = None, accept: str = "application/json",
                 ) -> httpx.Response:
        try:
            return self.client.get(self.base + path, params=params, headers={"Accept": accept})
        except httpx.TransportError as error:
            raise CaptureError(f"cannot reach {self.base}: {error.__class__.__name__}: {error}") from None

    def get(self, path: str, params: dict[str, Any] | None = None, optional: bool = False) -> Any:
        response = self.response(path, params)
        if response.status_code == 401:
            raise CaptureError(f"{self.base}: the server refused the credentials of user {self.user!r} (401)")
        if optional and response.status_code in (403, 404, 406):
            return None
        if response.status_code == 403:
            raise CaptureError(f"{self.base}{path}: user {self.user!r} may not read this (403); capture needs an "
                               f"Admin user")
        if response.status_code != 200:
            raise CaptureError(f"GET {self.base}{path}: unexpected {response.status_code}: {response.text[:300]}")
        try:
            return response.json()
        except ValueError:
            raise CaptureError(f"GET {self.base}{path}: not JSON: {response.text[:200]!r}") from None

    def pages(self, path: str, key: str, params: dict[str, Any] | None = None) -> list[JSON]:
        """Every item of a paged collection."""
        items: list[JSON] = []
        while True:
            page = self.get(path, {**(params or {}), "limit": PAGE, "offset": len(items)})
            batch = page.get(key) or []
            items.extend(batch)
            if not batch or len(items) >= int(page.get("total_entries") or 0):
                return items


class Capture:
    def __init__(self, reader: Reader, options: CaptureOptions, progress: Progress) -> None:
        self.read = reader
        self.options = options
        self.say = progress

    def check_server(self) -> None:
        version = self.read.get("/version")
        self.say(f"connected to {self.read.base}: Airflow {version.get('version')}")
        self.read.get("/dags", {"limit": 1})  # fails with a clear message when the credentials are wrong

    # --- the one-list files -------------------------------------------------------------------
    def small_files(self) -> dict[str, Any]:
        read = self.read
        files: dict[str, Any] = {
            "version": read.get("/version"),
            "pools": read.pages("/pools", "pools"),
            "variables": [self._variable(item) for item in read.pages("/variables", "variables")],
            "connections": [read.get(f"/connections/{_q(item['connection_id'])}")
                            for item in read.pages("/connections", "connections")],
            "permissions": read.pages("/permissions", "actions"),
            "roles": read.pages("/roles", "roles"),
            "users": read.pages("/users", "users"),
            "datasets": read.pages("/datasets", "datasets"),
            "dataset_events": read.pages("/datasets/events", "dataset_events"),
            "import_errors": read.pages("/importErrors", "import_errors"),
            "dag_warnings": read.pages("/dagWarnings", "dag_warnings"),
            "event_logs": read.pages("/eventLogs", "event_logs"),
            "plugins": read.pages("/plugins", "plugins"),
            "providers": (read.get("/providers") or {}).get("providers", []),
        }
        config = read.get("/config", optional=True)
        if config:
            files["config"] = config
        for name, rows in files.items():
            if isinstance(rows, list):
                self.say(f"{name}: {len(rows)}")
        return files

    def _variable(self, item: JSON) -> JSON:
        if "value" in item:  # 2.5.3 lists values; older servers do not
            return item
        return self.read.get(f"/variables/{_q(item['key'])}")  # type: ignore[no-any-return]

    # --- DAG files ----------------------------------------------------------------------------
    def dags(self, datasets: list[JSON]) -> Iterator[JSON]:
        listed = self.read.pages("/dags", "dags", {"only_active": "false"})
        outlets, triggers = _dataset_links(datasets)
        for number, item in enumerate(listed, start=1):
            dag = self.dag(item, outlets, triggers)
            runs = dag.get("dag_runs", [])
            tis = sum(len(run.get("task_instances", [])) for run in runs)
            self.say(f"[{number}/{len(listed)}] {item['dag_id']}: {len(dag['tasks'])} tasks, {len(runs)} runs, "
                     f"{tis} task instances")
            yield dag

    def dag(self, item: JSON, outlets: dict[tuple[str, str], list[str]], triggers: dict[str, list[str]]) -> JSON:
        dag_id = item["dag_id"]
        path = f"/dags/{_q(dag_id)}"
        wire: JSON = {**item, **self.read.get(f"{path}/details")}
        mock: JSON = {}
        listed = [tag["name"] for tag in item.get("tags") or []]
        if listed != [tag["name"] for tag in wire.get("tags") or []]:
            mock["stored_tag_order"] = listed  # the database's order, kept beside the declared one
        # Every task has the same dag_id, and Python's sort keeps ties in place: this lists the
        # tasks in the DAG's own order, which the fixture keeps (ties of other orderings use it).
        tasks = self.read.get(f"{path}/tasks", {"order_by": "dag_id"})["tasks"]
        source = self._source(wire.get("file_token"))
        runs = self.read.pages(f"{path}/dagRuns", "dag_runs")
        if self.options.max_runs is not None:
            runs = runs[len(runs) - self.options.max_runs:] if self.options.max_runs else []
        for run in runs:
            run["task_instances"] = self._task_instances(dag_id, run)
        wire["tasks"] = [self._task(dag_id, task, runs, outlets) for task in tasks]
        if source is not None:
            wire["source"] = source
        wire["dag_runs"] = runs
        if triggers.get(dag_id):
            mock["dataset_triggers"] = triggers[dag_id]
        if mock:
            wire["x-mockflow"] = mock
        return wire

    def _source(self, token: str | None) -> str | None:
        if not token:
            return None
        response = self.read.response(f"/dagSources/{_q(token)}", accept="text/plain")
        return response.text if response.status_code == 200 else None

    def _task(self, dag_id: str, task: JSON, runs: list[JSON], outlets: dict[tuple[str, str], list[str]]) -> JSON:
        mock: JSON = {}
        mapped = [ti for run in runs for ti in run["task_instances"]
                  if ti["task_id"] == task["task_id"] and ti.get("map_index", -1) >= 0]
        if task.get("is_mapped") and mapped:
            per_run: dict[str, int] = {}
            for ti in mapped:
                if ti.get("state") != "removed":
                    per_run[ti["dag_run_id"]] = max(per_run.get(ti["dag_run_id"], 0), ti["map_index"] + 1)
            if per_run:
                mock["map_length"] = max(per_run.values())
        if task.get("extra_links"):
            names = self._link_names(dag_id, task["task_id"], runs)
            if names:
                mock["extra_links"] = names
        if outlets.get((dag_id, task["task_id"])):
            mock["outlets"] = outlets[(dag_id, task["task_id"])]
        return {**task, "x-mockflow": mock} if mock else task

    def _link_names(self, dag_id: str, task_id: str, runs: list[JSON]) -> list[str]:
        for run in reversed(runs):
            if any(ti["task_id"] == task_id and ti.get("map_index", -1) == -1 for ti in run["task_instances"]):
                path = f"/dags/{_q(dag_id)}/dagRuns/{_q(run['dag_run_id'])}/taskInstances/{_q(task_id)}/links"
                links = self.read.get(path, optional=True)
                return sorted(links) if isinstance(links, dict) else []
        return []

    def _task_instances(self, dag_id: str, run: JSON) -> list[JSON]:
        path = f"/dags/{_q(dag_id)}/dagRuns/{_q(run['dag_run_id'])}"
        tis = self.read.pages(f"{path}/taskInstances", "task_instances")
        mapped = {ti["task_id"] for ti in tis if ti.get("map_index", -1) >= 0}
        entries = self.read.pages(f"{path}/taskInstances/~/xcomEntries", "xcom_entries") if tis else []
        by_task: dict[str, list[JSON]] = {}
        for entry in entries:
            if entry["task_id"] not in mapped:  # 2.5.3 cannot read a mapped instance's value alone
                by_task.setdefault(entry["task_id"], []).append(entry)
        for ti in tis:
            if ti.get("map_index", -1) == -1 and ti["task_id"] in by_task:
                ti["xcom_entries"] = [self._xcom(path, ti["task_id"], entry) for entry in by_task[ti["task_id"]]]
            if self.options.logs and ti.get("try_number"):
                logs = self._logs(path, ti)
                if logs:
                    ti["logs"] = logs
        return tis

    def _xcom(self, run_path: str, task_id: str, entry: JSON) -> JSON:
        full = self.read.get(f"{run_path}/taskInstances/{_q(task_id)}/xcomEntries/{_q(entry['key'])}", optional=True)
        return {**entry, **(full or {})}

    def _logs(self, run_path: str, ti: JSON) -> list[JSON]:
        logs = []
        for try_number in range(1, int(ti["try_number"]) + 1):
            page = self.read.get(f"{run_path}/taskInstances/{_q(ti['task_id'])}/logs/{try_number}",
                                 {"full_content": "true", "map_index": ti.get("map_index", -1)}, optional=True)
            text = stored_log(page.get("content")) if isinstance(page, dict) else None
            if text is not None:
                logs.append({"try_number": try_number, "content": text})
        return logs


def stored_log(content: Any) -> str | None:
    """The log file's text from the API's `content`: the str() of [(host, text)] pairs, where the
    text starts with the handler's own `*** ...` lines (where it read from, or why it could not)."""
    try:
        parts = ast.literal_eval(content) if isinstance(content, str) else None
    except (ValueError, SyntaxError):
        return None
    if not isinstance(parts, list):
        return None
    text = "".join(str(part[1]) for part in parts if isinstance(part, (list, tuple)) and len(part) == 2)
    lines = text.split("\n")
    notes = 0
    while notes < len(lines) and lines[notes].startswith("*** "):
        notes += 1
    if any(word in line for line in lines[:notes] for word in ("does not exist", "Failed to fetch", "Could not read")):
        return None
    return "\n".join(lines[notes:])


def _dataset_links(datasets: list[JSON]) -> tuple[dict[tuple[str, str], list[str]], dict[str, list[str]]]:
    """Which tasks produce which datasets, and which DAGs are scheduled on them (from the datasets side)."""
    outlets: dict[tuple[str, str], list[str]] = {}
    triggers: dict[str, list[str]] = {}
    for dataset in datasets:
        for task in dataset.get("producing_tasks") or []:
            outlets.setdefault((task["dag_id"], task["task_id"]), []).append(dataset["uri"])
        for dag in dataset.get("consuming_dags") or []:
            triggers.setdefault(dag["dag_id"], []).append(dataset["uri"])
    return outlets, triggers


def capture_to(options: CaptureOptions, out: str | Path, progress: Progress = print,
               client: httpx.Client | None = None) -> dict[str, int]:
    """Reads the server into `out` (created; must be empty); returns how many objects of each kind."""
    directory = Path(out)
    if directory.exists() and any(directory.iterdir()):
        raise CaptureError(f"{directory}: not empty (refusing to mix a capture with other files)")
    reader = Reader(options, client)
    try:
        capture = Capture(reader, options, progress)
        capture.check_server()
        files = capture.small_files()
        (directory / "dags").mkdir(parents=True, exist_ok=True)
        counts = {"DAGs": 0, "runs": 0, "task instances": 0}
        kept: set[tuple[str, str]] = set()
        for dag in capture.dags(files["datasets"]):
            write(directory / "dags" / dag["dag_id"], dag, options.fmt, compact=True)
            kept.update((dag["dag_id"], run["dag_run_id"]) for run in dag["dag_runs"])
            counts["DAGs"] += 1
            counts["runs"] += len(dag["dag_runs"])
            counts["task instances"] += sum(len(run["task_instances"]) for run in dag["dag_runs"])
    finally:
        reader.close()
    for event in files["dataset_events"]:  # runs left out by --max-runs
        event["created_dagruns"] = [run for run in event.get("created_dagruns") or []
                                    if (run.get("dag_id"), run.get("dag_run_id")) in kept]
    for name, rows in files.items():
        if rows or name == "version":
            write(directory / name, rows, options.fmt)
    counts.update({name: len(rows) for name, rows in files.items() if isinstance(rows, list) and rows})
    return counts
