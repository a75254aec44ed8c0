"""`mockflow generate`: a large, realistic and deterministic fixture set, for scale testing.

The same settings give the same bytes: all randomness comes from one `random.Random(seed)` and a
Faker seeded with `seed_instance`, and no value depends on the clock. The set has the variety of
the default set (every schedule kind, mapped tasks, dataset producers and consumers, runs and task
instances in every state, XComs, logs of several tries, users in every role, ...) at any size.
DAG files are written as compact JSON, which loads about ten times faster than YAML.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import yaml

from mockflow.fixtureset.generate.dags import DagMaker
from mockflow.fixtureset.generate.lists import ListMaker
from mockflow.fixtureset.generate.plan import GeneratorSettings, Plan

__all__ = ["GeneratorSettings", "generate_set"]


def _write(path: Path, data: Any, fmt: str, compact: bool = False) -> None:
    if fmt == "yaml":
        path.with_suffix(".yaml").write_text(yaml.dump(data, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper),
                                                       sort_keys=False, allow_unicode=True), encoding="utf-8")
    else:
        path.with_suffix(".json").write_bytes(orjson.dumps(data, option=0 if compact else orjson.OPT_INDENT_2))


def generate_set(settings: GeneratorSettings, out: str | Path,
                 progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Writes the set into `out` (which must not exist or be empty); returns what it wrote.
    `progress` hears (DAGs written, DAGs in all) after each DAG file."""
    settings.check()
    directory = Path(out)
    if directory.exists() and any(directory.iterdir()):
        raise ValueError(f"{directory}: not empty (refusing to mix a generated set with other files)")
    (directory / "dags").mkdir(parents=True, exist_ok=True)
    plan = Plan(settings)
    dags, lists = DagMaker(plan), ListMaker(plan)
    counts = {"DAGs": 0, "runs": 0, "task instances": 0}
    for planned in plan.dags:
        dag = dags.dag(planned)
        counts["DAGs"] += 1
        counts["runs"] += len(dag["dag_runs"])
        counts["task instances"] += sum(len(run["task_instances"]) for run in dag["dag_runs"])
        _write(directory / "dags" / planned.dag_id, dag, settings.fmt, compact=True)
        if progress is not None:
            progress(counts["DAGs"], len(plan.dags))
    files = lists.small_files()
    files["dataset_events"] = lists.dataset_events()
    for name, content in files.items():
        _write(directory / name, content, settings.fmt)
    counts["users"] = len(files["users"])
    counts["dataset events"] = len(files["dataset_events"])
    return counts
